/**
 * The real resolver: a TokenReview with the PSP's audience (the token must be a projected,
 * audience-bound service-account token), the pod name and uid the API server bound into it
 * (`authentication.kubernetes.io/pod-name` / `pod-uid` in `status.user.extra`), then the pod itself,
 * whose uid must still match — a token outlives a deleted pod, and a new pod may reuse the name.
 */
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { PspError } from './errors.ts';
import type { PodIdentity, PodIdentityResolver } from './pod-identity.ts';

export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

export interface KubernetesPodIdentityOptions {
  readonly kubeConfig: KubeConfig;
  /** The audience pods request their token for (the projected volume's `audience`). */
  readonly audience: string;
}

export class KubernetesPodIdentityResolver implements PodIdentityResolver {
  readonly #auth: AuthenticationV1Api;
  readonly #core: CoreV1Api;
  readonly #audience: string;

  constructor(options: KubernetesPodIdentityOptions) {
    this.#auth = options.kubeConfig.makeApiClient(AuthenticationV1Api);
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#audience = options.audience;
  }

  async resolve(token: string): Promise<PodIdentity> {
    let status;
    try {
      const review = await this.#auth.createTokenReview({
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, audiences: [this.#audience] },
        },
      });
      status = review.status;
    } catch (cause) {
      throw new PspError('unavailable', 'the Kubernetes API did not answer the TokenReview', { cause });
    }
    if (!status?.authenticated) {
      throw new PspError(
        'unauthenticated',
        `the token was not accepted${status?.error ? `: ${status.error}` : ''}`,
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
    let pod: V1Pod;
    try {
      pod = await this.#core.readNamespacedPod({ name: podName, namespace });
    } catch (cause) {
      if (cause instanceof ApiException && cause.code === 404) {
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
