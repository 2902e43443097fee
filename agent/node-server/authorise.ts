/**
 * The node agent's decisions (ADR 14, ADR 39), each a function of what the API server said — no I/O:
 *
 * 1. `callerOf`: the TokenReview names a pod-bound service-account token valid for `securekey-node`;
 *    otherwise 401.
 * 2. `checkPod`: the pod the token is bound to exists, has the token's uid, is bound to this node and is
 *    not terminating; otherwise 403.
 * 3. `admitKey`: each SecureKey asked for exists in the pod's namespace (404; no other namespace is ever
 *    read), serves node mode (spec.mode: Node), selects the pod and admits it by the operator's rules
 *    (notSelectedBecause, podRefusal), and what the pod runs was approved — its container digest signed
 *    by an approver, and matching what the kubelet reports — unless the SecureKey trusts every pod
 *    creator (approval: Observed); otherwise 403. The rule is core/workload's admitNodePod.
 *
 * Messages name the pod, the SecureKey and the reason; never the token.
 */
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { SecureKeyError } from '../../core/errors.ts';
import { NODE_TOKEN_AUDIENCE } from '../../core/inject/annotations.ts';
import {
  admitNodePod,
  NodeAdmissionError,
  trimPod,
  type NodeAdmissionContext,
  type NodeModePod,
} from '../../core/workload/index.ts';
import type { TokenReviewStatus } from '../../edge/kube/token-review.ts';
import type { KeyRef } from './key-source.ts';

/** The HTTP status and wire code of each refusal; the client treats 400/401/403/404 as final. */
export const REFUSALS = {
  'bad-request': { status: 400, code: 'BadRequest' },
  unauthenticated: { status: 401, code: 'Unauthenticated' },
  'pod-not-found': { status: 403, code: 'PodNotFound' },
  'pod-mismatch': { status: 403, code: 'PodMismatch' },
  'other-node': { status: 403, code: 'OtherNode' },
  'pod-terminating': { status: 403, code: 'PodTerminating' },
  'securekey-not-found': { status: 404, code: 'SecureKeyNotFound' },
  'not-node-mode': { status: 403, code: 'NotNodeMode' },
  'not-selected': { status: 403, code: 'NotSelected' },
  'pod-refused': { status: 403, code: 'NotAdmitted' },
  'not-approved': { status: 403, code: 'NotApproved' },
  'securekey-not-ready': { status: 503, code: 'NotReady' },
  throttled: { status: 429, code: 'Throttled' },
  overloaded: { status: 429, code: 'Overloaded' },
  unavailable: { status: 503, code: 'Unavailable' },
  timeout: { status: 503, code: 'Timeout' },
  'release-refused': { status: 500, code: 'ReleaseRefused' },
  internal: { status: 500, code: 'Internal' },
} as const;

export type RefusalKind = keyof typeof REFUSALS;

/** A request the node agent does not serve: its status and code come from REFUSALS. */
export class NodeServerError extends SecureKeyError<RefusalKind> {
  /** Seconds, for Retry-After on 429/503. */
  readonly retryAfterS: number | undefined;

  constructor(kind: RefusalKind, message: string, o: { retryAfterS?: number; cause?: unknown } = {}) {
    super(kind, message, o.cause === undefined ? {} : { cause: o.cause });
    this.retryAfterS = o.retryAfterS;
  }

  get status(): number {
    return REFUSALS[this.kind].status;
  }
}

/** The pod a token is bound to, as the API server authenticated it. */
export interface Caller {
  namespace: string;
  serviceAccount: string;
  podName: string;
  podUid: string;
}

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;
const one = (extra: Record<string, string[]> | undefined, name: string): string | undefined => {
  const v = extra?.[name];
  return Array.isArray(v) && v.length === 1 && typeof v[0] === 'string' && v[0] !== '' ? v[0] : undefined;
};

/** The pod a TokenReview's answer names; NodeServerError `unauthenticated` for any other answer. */
export function callerOf(review: TokenReviewStatus, audience = NODE_TOKEN_AUDIENCE): Caller {
  const refuse = (why: string) => new NodeServerError('unauthenticated', `the token is not accepted: ${why}`);
  if (review.authenticated !== true) throw refuse('the API server does not authenticate it');
  // Asked for one audience, the API server answers with the ones the token is valid for among it.
  if (!review.audiences?.includes(audience)) throw refuse(`it is not for audience ${audience}`);
  const user = SA_USER.exec(review.user?.username ?? '');
  if (!user) throw refuse('it is not a service-account token');
  const podName = one(review.user?.extra, 'authentication.kubernetes.io/pod-name');
  const podUid = one(review.user?.extra, 'authentication.kubernetes.io/pod-uid');
  if (podName === undefined || podUid === undefined) throw refuse('it is not bound to a pod');
  return { namespace: user[1]!, serviceAccount: user[2]!, podName, podUid };
}

/** The pod as the decisions read it: trimmed for the operator's rules, and its spec and status. */
export type CheckedPod = NodeModePod;

/** The token's pod, checked against the caller and this node; `pod` undefined: the API server has none. */
export function checkPod(pod: unknown, caller: Caller, nodeName: string): CheckedPod {
  const name = `${caller.namespace}/${caller.podName}`;
  if (pod === undefined) throw new NodeServerError('pod-not-found', `pod ${name} does not exist`);
  const observed = trimPod(pod);
  if (observed.uid !== caller.podUid) {
    throw new NodeServerError(
      'pod-mismatch',
      `pod ${name} is not the token's pod (uid ${observed.uid}, the token's ${caller.podUid})`,
    );
  }
  const sa = (pod as { spec?: { serviceAccountName?: unknown } }).spec?.serviceAccountName ?? 'default';
  if (sa !== caller.serviceAccount) {
    throw new NodeServerError(
      'pod-mismatch',
      `pod ${name} runs as service account ${String(sa)}, the token is ${caller.serviceAccount}'s`,
    );
  }
  if (observed.node !== nodeName) {
    throw new NodeServerError(
      'other-node',
      `pod ${name} runs on node ${observed.node ?? '(none)'}, not on ${nodeName}`,
    );
  }
  if (observed.deleting) throw new NodeServerError('pod-terminating', `pod ${name} is being deleted`);
  const p = pod as { spec?: unknown; status?: unknown };
  return { observed, spec: p.spec, status: p.status };
}

export type AdmitContext = NodeAdmissionContext;

/**
 * The key `secureKey` (the SecureKey named `name` in the pod's namespace, undefined when there is none)
 * holds for `pod`, or the NodeServerError that says why the pod may not have it (core/workload's
 * admitNodePod, the rule `securekey explain` answers with).
 */
export async function admitKey(
  secureKey: SecureKey | undefined,
  name: string,
  pod: CheckedPod,
  ctx: AdmitContext,
): Promise<KeyRef & { version: string }> {
  try {
    return await admitNodePod(secureKey, name, pod, ctx);
  } catch (err) {
    if (!(err instanceof NodeAdmissionError)) throw err;
    const retry = err.kind === 'securekey-not-ready' ? { retryAfterS: 5 } : {};
    throw new NodeServerError(err.kind, err.message, retry);
  }
}
