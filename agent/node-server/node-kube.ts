/**
 * What the node agent asks the API server (ADR 39), through edge/kube: TokenReview, the token's pod
 * (fresh every time: its node, uid and what the kubelet reports change), and SecureKeys by name in the
 * pod's namespace, kept for a few seconds so a burst of pods asking for one key is one read (a rotation
 * or a changed approver list is seen within that time; an absent SecureKey is asked for again). RBAC: tokenreviews create, pods get,
 * securekeys get.
 */
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { NODE_TOKEN_AUDIENCE } from '../../core/inject/annotations.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { readSecureKey } from '../../edge/kube/secure-keys.ts';
import { reviewToken, type TokenReviewStatus } from '../../edge/kube/token-review.ts';
import { KubeApiError } from '../../edge/kube/errors.ts';

export interface NodeKube {
  review(token: string): Promise<TokenReviewStatus>;
  /** The pod; undefined when the API server has none of that name. */
  pod(namespace: string, name: string): Promise<unknown>;
  secureKey(namespace: string, name: string): Promise<SecureKey | undefined>;
}

/** SecureKeys remembered at most; the oldest go first. A node runs far fewer distinct ones. */
const MAX_SECURE_KEYS = 4096;

export function nodeKube(http: KubeHttp, o: { secureKeyTtlMs?: number; now?: () => number } = {}): NodeKube {
  const ttl = o.secureKeyTtlMs ?? 5_000;
  const now = o.now ?? Date.now;
  const secureKeys = new Map<string, { at: number; value: Promise<SecureKey | undefined> }>();
  return {
    review: (token) => reviewToken(http, token, [NODE_TOKEN_AUDIENCE]),
    async pod(namespace, name) {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
      const res = await http.request('GET', path, { timeoutMs: 10_000 });
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw KubeApiError.fromResponse('GET', path, res.status, res.body);
      return res.body;
    },
    secureKey(namespace, name) {
      const id = `${namespace}/${name}`;
      const hit = secureKeys.get(id);
      if (hit !== undefined && now() - hit.at < ttl) return hit.value;
      const value = readSecureKey(http, namespace, name);
      secureKeys.delete(id);
      secureKeys.set(id, { at: now(), value });
      // Neither a failed read nor an absent SecureKey is remembered: one created a moment ago is served
      // at once, and a 404 is final for the pod.
      const forget = () => secureKeys.get(id)?.value === value && secureKeys.delete(id);
      value.then((found) => found === undefined && forget(), forget);
      if (secureKeys.size > MAX_SECURE_KEYS) secureKeys.delete(secureKeys.keys().next().value!);
      return value;
    },
  };
}
