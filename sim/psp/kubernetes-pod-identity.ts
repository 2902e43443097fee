/**
 * The real resolver: a TokenReview with the PSP's audience (the token must be a projected,
 * audience-bound service-account token), the pod name and uid the API server bound into it
 * (`authentication.kubernetes.io/pod-name` / `pod-uid` in `status.user.extra`), then the pod itself,
 * whose uid must still match — a token outlives a deleted pod, and a new pod may reuse the name.
 */
import { isErrorOf } from '../../core/errors.ts';
import { KubeApiError } from '../../edge/kube/errors.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { reviewToken, type TokenReviewStatus } from '../../edge/kube/token-review.ts';
import { PspError } from './errors.ts';
import type { PodIdentity, PodIdentityResolver } from './pod-identity.ts';

export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The parts of a Pod the PSP reads. */
interface Pod {
  metadata?: { uid?: string; annotations?: Record<string, string> };
  spec?: { serviceAccountName?: string };
}

export interface KubernetesPodIdentityOptions {
  readonly http: KubeHttp;
  /** The audience pods request their token for (the projected volume's `audience`). */
  readonly audience: string;
}

export class KubernetesPodIdentityResolver implements PodIdentityResolver {
  readonly #http: KubeHttp;
  readonly #audience: string;

  constructor(options: KubernetesPodIdentityOptions) {
    this.#http = options.http;
    this.#audience = options.audience;
  }

  async resolve(token: string): Promise<PodIdentity> {
    let status: TokenReviewStatus;
    try {
      status = await reviewToken(this.#http, token, [this.#audience]);
    } catch (cause) {
      throw new PspError('unavailable', 'the Kubernetes API did not answer the TokenReview', { cause });
    }
    if (!status.authenticated) {
      throw new PspError(
        'unauthenticated',
        `the token was not accepted${status.error ? `: ${status.error}` : ''}`,
      );
    }
    // No audiences in the answer means the API server's own audience: not a token made for the PSP.
    if (!status.audiences?.includes(this.#audience)) {
      throw new PspError('unauthenticated', `the token is not for audience ${this.#audience}`);
    }
    const user = status.user;
    const sa = SERVICE_ACCOUNT_USER.exec(user?.username ?? '');
    if (!sa) throw new PspError('unauthenticated', 'the token is not a service-account token');
    const [, namespace, serviceAccount] = sa as unknown as [string, string, string];
    const podName = user?.extra?.[POD_NAME_EXTRA]?.[0];
    const podUid = user?.extra?.[POD_UID_EXTRA]?.[0];
    if (!podName || !podUid) {
      throw new PspError('unauthenticated', 'the token is not bound to a pod', {
        hint: 'mount a projected service-account token (serviceAccountToken volume) with the PSP audience',
      });
    }
    let pod: Pod;
    try {
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(podName)}`;
      pod = await this.#http.expect<Pod>('GET', path, [200]);
    } catch (cause) {
      if (isErrorOf(cause, KubeApiError, 'not-found')) {
        throw new PspError('pod-gone', `pod ${namespace}/${podName} no longer exists`);
      }
      throw new PspError('unavailable', `the Kubernetes API did not return pod ${namespace}/${podName}`, {
        cause,
      });
    }
    if (pod.metadata?.uid !== podUid) {
      throw new PspError(
        'pod-gone',
        `pod ${namespace}/${podName} is not the pod the token was issued to (uid differs)`,
      );
    }
    const runsAs = pod.spec?.serviceAccountName ?? 'default';
    if (runsAs !== serviceAccount) {
      throw new PspError(
        'service-account-mismatch',
        `pod ${namespace}/${podName} runs as ${runsAs}, the token names ${serviceAccount}`,
      );
    }
    return { namespace, podName, podUid, serviceAccount, annotations: pod.metadata?.annotations ?? {} };
  }
}
