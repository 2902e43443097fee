/**
 * The agent's parsed configuration (its types and fixed values) and the reading of its command line:
 * node:util parseArgs splits argv, and this file decides what is allowed — flags of the contract only
 * (core/inject/agent-contract.ts), a value for each, a flag once unless it repeats per key — and that a
 * flag wins over its variable.
 */
import { parseArgs } from 'node:util';
import type {
  AgentMode,
  AgentOption,
  EvidenceBackend,
  KeyFileMode,
} from '../../core/inject/agent-contract.ts';
import type { KeyHsmEnc } from '../../core/keywrap/key-hsm.ts';
import type { KeyFormat } from '../../core/keys/output-formats.ts';
import { invalid, missing, type Sourced } from './validators.ts';

/** The modes parseAgentConfig reads: the agent attests itself (node mode has agent/node/node-config.ts). */
export const ATTESTING_MODES = ['init', 'sidecar'] as const satisfies readonly AgentMode[];
export type AttestingMode = (typeof ATTESTING_MODES)[number];

/** Backends that need the native helper (`/dev/sev-guest`; ACI's `/dev/sev`). */
export const HELPER_BACKENDS: readonly EvidenceBackend[] = ['sev-guest', 'sev'];
/** Where the agent image installs the native helper (agent/native). */
export const DEFAULT_SEV_HELPER = '/usr/local/lib/securekey/sev-report';
/** Backends that talk to a simulator rather than the guest kernel: refused unless simulators are on. */
export const SIMULATED_BACKENDS: readonly EvidenceBackend[] = ['psp', 'sev-guest-socket', 'tsm-socket'];

/**
 * Where the VCEK chain comes from (agent/evidence/vcek-chain.ts): `auto` the evidence's own chain (PSP
 * answer, certificate table), then THIM, then AMD KDS when --kds-url is set; `evidence` the evidence's
 * chain only; `thim` THIM (then KDS when set); `kds` as `auto`, with AMD KDS in THIM's place.
 */
export const VCEK_SOURCES = ['auto', 'evidence', 'thim', 'kds'] as const;
export type VcekSource = (typeof VCEK_SOURCES)[number];

/** Azure IMDS, where THIM lives on Azure confidential VMs and pods. */
export const DEFAULT_THIM_URL = 'http://169.254.169.254';
export const READY_FILE_NAME = '.securekey-ready';
/** AMD's Key Distribution Service, the VCEK chain source of `--vcek-source kds` unless --kds-url names another. */
export const DEFAULT_KDS_URL = 'https://kdsintf.amd.com';

export interface KeySpec {
  /** The name the pod uses (`securekey.io/key-<alias>`); also the default file name. */
  alias: string;
  /** The vault (an https origin) that holds the key. */
  vaultUrl: string;
  /** The vault key name. */
  name: string;
  /** A specific key version; the latest when absent. */
  version?: string;
  /** The attestation authority (an https origin) the key's release policy names. */
  attestationUrl: string;
  format: KeyFormat;
  /** Absolute path of the file, inside the output directory. */
  path: string;
  /** Sidecar: how often the operator rotates the key (the SecureKey's spec.rotation.interval). */
  rotationMs?: number;
}

/** How the agent gets its vault token: `auto` picks workload identity when its token file is set. */
export const IDENTITY_MODES = ['auto', 'workload', 'managed'] as const;
/** Azure IMDS: managed-identity tokens on VMs, ACI container groups and VN2 pods. */
export const DEFAULT_IMDS_URL = 'http://169.254.169.254';

/** AKS workload identity: the projected service-account token is exchanged at Entra ID. */
export interface WorkloadIdentity {
  kind: 'workload';
  tenantId: string;
  clientId: string;
  tokenFile: string;
  authorityHost?: string;
}

/**
 * A managed identity through IMDS (ACI's and VN2's identity, as the SKR sidecar uses it): the one
 * assigned to the resource when neither id is given, else the user-assigned identity named.
 */
export interface ManagedIdentity {
  kind: 'managed';
  imdsUrl: string;
  /** The user-assigned identity's client id (IMDS `client_id`). */
  clientId?: string;
  /** The user-assigned identity's resource id (IMDS `mi_res_id`). */
  resourceId?: string;
}

export type AgentIdentity = WorkloadIdentity | ManagedIdentity;

export interface AgentConfig {
  /** init: fetch once and exit; sidecar: stay up, refresh every `refreshMs`, answer GET /ready on `probePort`. */
  mode: AttestingMode;
  refreshMs: number;
  probePort: number;
  /** Sidecar: the SKR sidecar's local API on this loopback port (ADR 52); off when absent. */
  skrApiPort?: number;
  /** At least one (none when parsed for the node agent's pod-attestation source); keys sharing an
   * attestation authority share one attestation. */
  keys: KeySpec[];
  identity: AgentIdentity;
  /** PEM file of the roots the release JWS must chain to; the pinned vault roots when absent. */
  releaseTrustRootsFile?: string;
  /** PEM file of the only CA to trust for TLS (simulators); system roots when absent. */
  caFile?: string;
  /**
   * The same two as PEM text in the environment: the webhook injects them so that the trust roots are
   * measured with the pod (a mounted file would not be).
   */
  caPem?: string;
  releaseTrustRootsPem?: string;
  evidence: EvidenceBackend;
  pspUrl?: string;
  pspTokenFile?: string;
  deviceSocket?: string;
  /** The native helper that issues the device ioctls (with `sev-guest`, `sev`). */
  sevHelper?: string;
  vcekSource: VcekSource;
  thimUrl: string;
  /** The UVM security context directory (host-amd-cert-base64), when the platform mounts one. */
  uvmSecurityContextDir?: string;
  /** AMD KDS (mode `kds`: default https://kdsintf.amd.com; mode `auto`: only when set). */
  kdsUrl?: string;
  outputDir: string;
  readyFile: string;
  releaseEnc: KeyHsmEnc;
  timeoutMs: number;
  /** How long a release refused for a digest not (yet) admitted is retried. */
  admissionWaitMs: number;
  fileOwner?: { uid: number; gid: number };
  /** 0400, or 0440 when the app reads the files through their group (ADR 21). */
  fileMode: KeyFileMode;
  /** TESTS AND SANDBOX ONLY: the output directory may be on a disk (sink/exposure.ts). */
  allowDiskOutput: boolean;
  simulators: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface ReadArgs<O extends string> {
  /** The first argument that is not a flag; undefined when none is given. */
  mode: string | undefined;
  /** An option's value: its flag's (a repeated flag's values joined by commas), else its variable's when not blank. */
  get(option: O): Sourced | undefined;
}

/**
 * Reads argv against `options`: `--flag value` or `--flag=value` (a switch takes no value, or
 * `=true`/`=false`), at most one argument besides the flags, each flag once unless it repeats.
 */
export function readArgs<O extends string>(
  argv: readonly string[],
  options: Readonly<Record<O, AgentOption>>,
  env: Env,
): ReadArgs<O> {
  const entries = Object.entries(options) as [O, AgentOption][];
  const byName = new Map(entries.map(([key, o]) => [o.flag.slice(2), key]));
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(
      entries.map(([, o]) => [o.flag.slice(2), { type: o.boolean ? 'boolean' : 'string' } as const]),
    ),
    // Not strict: its TypeErrors name no flag in a field; the checks below raise AgentErrors that do.
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<O, string[]>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (positionals.length > 0) throw invalid(`unexpected argument ${JSON.stringify(token.value)}`);
      positionals.push(token.value);
      continue;
    }
    const key = token.rawName.startsWith('--') ? byName.get(token.name) : undefined;
    if (key === undefined) {
      throw invalid(
        `unknown flag ${token.rawName}`,
        `known flags: ${entries.map(([, o]) => o.flag).join(', ')}`,
      );
    }
    const { flag, boolean, repeats } = options[key];
    let value: string;
    if (boolean) value = token.value ?? 'true';
    else if (token.value === undefined) throw missing(`${flag} needs a value`);
    else if (!token.inlineValue && token.value.startsWith('-')) {
      // parseArgs would take the next flag as this one's value.
      throw missing(
        `${flag} needs a value (the argument after it starts with a dash)`,
        `give a value that starts with a dash as ${flag}=<value>`,
      );
    } else value = token.value;
    const values = flags.get(key) ?? [];
    if (values.length > 0 && !repeats) throw invalid(`${flag} is given twice`);
    flags.set(key, [...values, value]);
  }
  return {
    mode: positionals[0],
    get(option) {
      const { flag, variable } = options[option];
      const fromFlag = flags.get(option);
      if (fromFlag !== undefined) return { value: fromFlag.join(','), from: flag };
      const fromEnv = variable === undefined ? undefined : env[variable]?.trim();
      return fromEnv ? { value: fromEnv, from: variable! } : undefined;
    },
  };
}
