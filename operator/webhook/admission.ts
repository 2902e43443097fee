/**
 * One AdmissionReview in, one response out: decode, resolve the SecureKeys a pod names, run the pure
 * injection, answer with the RFC 6902 diff. No I/O here beyond `resolve`; the HTTP server only decodes
 * and encodes (vault-k8s's split).
 */
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { deploymentModeOf } from '../../core/api/mode.ts';
import {
  diff,
  INJECT_LABEL,
  INJECT_LABEL_VALUE,
  injectAgent,
  InjectError,
  keyRequests,
  type AgentSettings,
  type ResolvedKey,
} from '../../core/inject/index.ts';
import { describeType, isObject, podMetadataProblem, podSpecProblem } from '../../core/workload/pod-shape.ts';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  object?: Record<string, unknown>;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: string;
  request?: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
}

export type AdmissionOutcome = 'mutated' | 'unchanged' | 'skipped' | 'denied';

export interface AdmissionContext {
  settings: AgentSettings;
  /** Namespaces never mutated: the operator's own and the system ones. */
  excludedNamespaces: ReadonlySet<string>;
  resolve(namespace: string, name: string): Promise<SecureKey | undefined>;
  /**
   * Why the operator would refuse this SecureKey's vault or authorities (undefined: it would not). Its
   * pods are then denied here, not left to fail in their agents against an endpoint the operator refuses.
   */
  refusal?(sk: SecureKey): string | undefined;
}

export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

function deny(uid: string, message: string, code = 403): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason: 'Forbidden', message } };
}

type Obj = Record<string, unknown>;

/**
 * Why the review cannot be read, or undefined. The API server sends well-formed reviews; anything
 * else (another client, a bug) is refused here rather than met by a TypeError deeper in.
 */
function malformedRequest(req: Obj): string | undefined {
  const kind = req['kind'];
  if (kind !== undefined && !isObject(kind)) return `request.kind is ${describeType(kind)}, not an object`;
  for (const field of ['group', 'version', 'kind'] as const) {
    const v = kind?.[field];
    if (v !== undefined && typeof v !== 'string')
      return `request.kind.${field} is ${describeType(v)}, not a string`;
  }
  for (const field of ['namespace', 'operation'] as const) {
    const v = req[field];
    if (v !== undefined && typeof v !== 'string')
      return `request.${field} is ${describeType(v)}, not a string`;
  }
  const object = req['object'];
  if (object !== undefined && object !== null && !isObject(object)) {
    return `request.object is ${describeType(object)}, not an object`;
  }
  return undefined;
}

/**
 * The response and what happened (for metrics and logs). Never throws for a bad review or pod: what
 * cannot be read is denied with a message (and, without a request uid, an empty uid).
 */
export async function admit(
  review: AdmissionReview,
  ctx: AdmissionContext,
): Promise<{ response: AdmissionResponse; outcome: AdmissionOutcome }> {
  const req: unknown = (review as unknown as Obj | null)?.['request'];
  const rawUid = isObject(req) ? req['uid'] : undefined;
  if (!isObject(req) || typeof rawUid !== 'string' || rawUid === '') {
    const message = `malformed AdmissionReview: ${isObject(req) ? 'request.uid is missing or not a string' : 'no request object'}`;
    return { response: deny('', message, 400), outcome: 'denied' };
  }
  const uid = rawUid;
  const malformed = malformedRequest(req);
  if (malformed !== undefined) {
    return { response: deny(uid, `malformed AdmissionReview: ${malformed}`, 400), outcome: 'denied' };
  }
  const request = req as unknown as AdmissionRequest;
  const allow = (outcome: AdmissionOutcome) => ({ response: { uid, allowed: true }, outcome });
  if (
    request.kind?.kind !== 'Pod' ||
    (request.kind.group ?? '') !== '' ||
    request.operation !== 'CREATE' ||
    !request.object
  ) {
    return allow('skipped');
  }
  const pod = request.object;
  const badMetadata = podMetadataProblem(pod);
  if (badMetadata !== undefined) {
    return { response: deny(uid, `malformed pod: ${badMetadata}`, 400), outcome: 'denied' };
  }
  const meta = (pod['metadata'] ?? {}) as {
    namespace?: string;
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
  };
  const namespace = request.namespace ?? meta.namespace ?? '';
  if (ctx.excludedNamespaces.has(namespace) || meta.labels?.[INJECT_LABEL] !== INJECT_LABEL_VALUE) {
    return allow('skipped');
  }
  const badSpec = podSpecProblem(pod);
  if (badSpec !== undefined)
    return { response: deny(uid, `malformed pod: ${badSpec}`, 400), outcome: 'denied' };
  try {
    const requests = keyRequests(meta.annotations ?? undefined);
    const keys: ResolvedKey[] = [];
    for (const r of requests) {
      const sk = await ctx.resolve(namespace, r.secureKey);
      if (!sk) {
        throw new InjectError(
          'unknown-securekey',
          `annotation securekey.io/key-${r.alias}: SecureKey ${r.secureKey} does not exist in namespace ${namespace}`,
        );
      }
      const refused = ctx.refusal?.(sk);
      if (refused !== undefined) {
        throw new InjectError('unknown-securekey', `SecureKey ${r.secureKey} cannot be used: ${refused}`);
      }
      const authority = sk.spec.attestation.authorities[0];
      if (authority === undefined) {
        throw new InjectError('unknown-securekey', `SecureKey ${r.secureKey} names no attestation authority`);
      }
      keys.push({
        ...r,
        vaultUrl: sk.spec.vault.url,
        keyName: sk.spec.key.name,
        authority,
        mode: deploymentModeOf(sk),
        ...(sk.spec.rotation === undefined ? {} : { rotation: sk.spec.rotation.interval }),
      });
    }
    const result = injectAgent(pod, keys, ctx.settings);
    if (!result.changed) return allow('unchanged');
    const patch = diff(pod, result.pod);
    return {
      response: {
        uid,
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      },
      outcome: 'mutated',
    };
  } catch (err) {
    if (!(err instanceof InjectError)) throw err;
    return { response: deny(uid, err.hint ? `${err.message}; ${err.hint}` : err.message), outcome: 'denied' };
  }
}
