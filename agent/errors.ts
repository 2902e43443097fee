/**
 * The agent's errors: a kind, the step of the straight line that failed (docs/design.md#the-agent),
 * the endpoint it was talking to and the likely cause. `describeAgentError` turns one into the line an
 * init container prints. Messages name digests, key names, URLs and device paths — never key material
 * or tokens.
 */
import { SecureKeyError } from '../core/errors.ts';

/** The agent's path, in order: config, then gather evidence → token → release → unwrap → write. */
export const AGENT_STEPS = [
  'config',
  'evidence',
  'certificates',
  'attestation',
  'release',
  'unwrap',
  'write',
  /** Node mode: fetching the keys from the node agent instead of the evidence → release steps. */
  'node-fetch',
] as const;
export type AgentStep = (typeof AGENT_STEPS)[number];

export type AgentErrorKind =
  /** A required argument or variable is absent. */
  | 'config-missing'
  /** An argument, variable or file it names has a value the agent cannot use. */
  | 'config-invalid'
  /** The evidence device or service does not exist here, or cannot be used from Node. */
  | 'device-unavailable'
  /** The device or PSP answered with an error (firmware status, errno, HTTP status). */
  | 'evidence-failed'
  /** The PSP refused this pod (token not accepted, pod gone, policy annotation unreadable). */
  | 'evidence-refused'
  /** Bytes from the device or service that are not a report or a certificate table. */
  | 'evidence-malformed'
  /** No VCEK chain certifies the report's REPORTED_TCB, even after asking for that TCB. */
  | 'tcb-mismatch'
  /** No VCEK chain could be obtained (THIM unreachable, no certificate table). */
  | 'certificates-unavailable'
  /** The attestation service refused the evidence. */
  | 'attestation-refused'
  /** The attestation service did not answer usefully (network, 429 or 5xx through every retry). */
  | 'attestation-unavailable'
  /** The token has no x-ms-compliance-status (no UVM reference info found, or not accepted), which release policies require. */
  | 'uvm-not-endorsed'
  /** The vault's release policy does not admit this pod's digest (HOST_DATA). */
  | 'digest-not-admitted'
  /** The workload identity may not release keys (or could not authenticate). */
  | 'identity-not-allowed'
  /** The vault has no such key (or version). */
  | 'key-not-found'
  /** Any other failed release call. */
  | 'release-failed'
  /** The release response is not a JWS the configured trust root and the vault host vouch for. */
  | 'release-unverified'
  /** The wrapped key does not unwrap with the runtime key, or is not the key type it claims. */
  | 'unwrap-failed'
  /** A key or the readiness marker could not be written. */
  | 'write-failed'
  /** The output directory is on a disk, not tmpfs or ramfs (sink/exposure.ts). */
  | 'output-on-disk'
  /** Memory could not be excluded from core dumps (sink/exposure.ts). */
  | 'core-dumps-enabled'
  /** The overall deadline passed. */
  | 'deadline-exceeded'
  /** Node mode: the node agent refused (identity or admission) or answered something unusable. */
  | 'node-refused'
  /** Node mode: the node agent was not reached or kept failing within the deadline. */
  | 'node-unavailable';

export interface AgentErrorOptions {
  step: AgentStep;
  /** URL, device path or file involved. */
  endpoint?: string;
  /** The key alias, for per-key steps. */
  key?: string;
  hint?: string;
  cause?: unknown;
}

export class AgentError extends SecureKeyError<AgentErrorKind> {
  readonly step: AgentStep;
  readonly endpoint: string | undefined;
  readonly key: string | undefined;

  constructor(kind: AgentErrorKind, message: string, options: AgentErrorOptions) {
    super(kind, message, {
      ...(options.hint === undefined ? {} : { hint: options.hint }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.step = options.step;
    this.endpoint = options.endpoint;
    this.key = options.key;
  }
}

/** The reason kind of the SecureKeyError underneath, if any (e.g. a release check's `signature-invalid`). */
export function reasonOf(err: AgentError): string | undefined {
  const cause = err.cause;
  return cause instanceof SecureKeyError ? cause.kind : undefined;
}

/** One line for a person: `[step] message (endpoint) — hint`. */
export function describeAgentError(err: unknown): string {
  if (!(err instanceof AgentError)) {
    return `[internal] ${err instanceof Error ? err.message : String(err)}`;
  }
  const where = err.endpoint === undefined ? '' : ` (${err.endpoint})`;
  const hint = err.hint === undefined ? '' : ` — ${err.hint}`;
  return `[${err.step}] ${err.message}${where}${hint}`;
}

/** The structured form main.ts logs. */
export function agentErrorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof AgentError)) {
    return { step: 'internal', kind: 'internal', message: err instanceof Error ? err.message : String(err) };
  }
  return {
    step: err.step,
    kind: err.kind,
    ...(reasonOf(err) === undefined ? {} : { reason: reasonOf(err) }),
    ...(err.key === undefined ? {} : { key: err.key }),
    ...(err.endpoint === undefined ? {} : { endpoint: err.endpoint }),
    message: err.message,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
  };
}
