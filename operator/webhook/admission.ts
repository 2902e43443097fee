/**
 * One AdmissionReview in, one response out: decode, resolve the SecureKeys a pod names, run the pure
 * injection, answer with the RFC 6902 diff. No I/O here beyond `resolve`; the HTTP server only decodes
 * and encodes (vault-k8s's split).
 */
import type { SecureKey } from '../../core/api/securekey.generated.ts';
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

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Why the review cannot be read, or undefined. The API server sends well-formed reviews; anything
 * else (another client, a bug) is refused here rather than met by a TypeError deeper in.
 */
function malformedRequest(req: Obj): string | undefined {
  const kind = req['kind'];
  if (kind !== undefined && !isObject(kind)) return `request.kind is ${describe(kind)}, not an object`;
  for (const field of ['group', 'version', 'kind'] as const) {
    const v = kind?.[field];
    if (v !== undefined && typeof v !== 'string')
      return `request.kind.${field} is ${describe(v)}, not a string`;
  }
  for (const field of ['namespace', 'operation'] as const) {
    const v = req[field];
    if (v !== undefined && typeof v !== 'string') return `request.${field} is ${describe(v)}, not a string`;
  }
  const object = req['object'];
  if (object !== undefined && object !== null && !isObject(object)) {
    return `request.object is ${describe(object)}, not an object`;
  }
  return undefined;
}

/** Why the pod's metadata the webhook and injector read is not of its Kubernetes types, or undefined. */
function malformedMetadata(pod: Obj): string | undefined {
  const metadata = pod['metadata'];
  if (metadata !== undefined && !isObject(metadata))
    return `metadata is ${describe(metadata)}, not an object`;
  if (metadata?.['namespace'] !== undefined && typeof metadata['namespace'] !== 'string') {
    return `metadata.namespace is ${describe(metadata['namespace'])}, not a string`;
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata?.[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) return `metadata.${field} is ${describe(map)}, not a map`;
    const bad = Object.entries(map).find(([, v]) => typeof v !== 'string');
    if (bad) return `metadata.${field}[${JSON.stringify(bad[0])}] is ${describe(bad[1])}, not a string`;
  }
  return undefined;
}

/** As malformedMetadata, for the spec: checked only for pods that are to be injected. */
function malformedSpec(pod: Obj): string | undefined {
  const spec = pod['spec'];
  if (spec !== undefined && !isObject(spec)) return `spec is ${describe(spec)}, not an object`;
  for (const field of ['containers', 'initContainers', 'volumes'] as const) {
    const problem = listOfObjects(spec?.[field], `spec.${field}`);
    if (problem !== undefined) return problem;
    const items = (spec?.[field] ?? []) as Obj[];
    if (field === 'volumes') continue;
    for (const [i, c] of items.entries()) {
      if (typeof c['name'] !== 'string')
        return `spec.${field}[${i}].name is ${describe(c['name'])}, not a string`;
      const mounts = listOfObjects(c['volumeMounts'], `spec.${field}[${i}].volumeMounts`);
      if (mounts !== undefined) return mounts;
    }
  }
  return undefined;
}

function listOfObjects(items: unknown, path: string): string | undefined {
  if (items === undefined || items === null) return undefined;
  if (!Array.isArray(items)) return `${path} is ${describe(items)}, not a list`;
  const i = items.findIndex((item) => !isObject(item));
  return i < 0 ? undefined : `${path}[${i}] is ${describe(items[i])}, not an object`;
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
  const badMetadata = malformedMetadata(pod);
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
  const badSpec = malformedSpec(pod);
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
      keys.push({ ...r, vaultUrl: sk.spec.vault.url, keyName: sk.spec.key.name, authority });
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
