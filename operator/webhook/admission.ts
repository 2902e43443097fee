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

/** The response and what happened (for metrics and logs). Never throws for a bad pod. */
export async function admit(
  review: AdmissionReview,
  ctx: AdmissionContext,
): Promise<{ response: AdmissionResponse; outcome: AdmissionOutcome }> {
  const req = review.request;
  if (!req?.uid) throw new Error('AdmissionReview without request.uid');
  const uid = req.uid;
  const allow = (outcome: AdmissionOutcome) => ({ response: { uid, allowed: true }, outcome });
  if (
    req.kind?.kind !== 'Pod' ||
    (req.kind.group ?? '') !== '' ||
    req.operation !== 'CREATE' ||
    !req.object
  ) {
    return allow('skipped');
  }
  const pod = req.object;
  const meta = (pod['metadata'] ?? {}) as {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  const namespace = req.namespace ?? (pod['metadata'] as { namespace?: string } | undefined)?.namespace ?? '';
  if (ctx.excludedNamespaces.has(namespace) || meta.labels?.[INJECT_LABEL] !== INJECT_LABEL_VALUE) {
    return allow('skipped');
  }
  try {
    const requests = keyRequests(meta.annotations);
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
