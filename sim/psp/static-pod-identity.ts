/**
 * A resolver over a static table, for tests and the local sandbox (no API server): tokens name
 * pods, pods carry annotations. Removing a pod, or replacing it under the same name, makes its old
 * tokens refused the way the real resolver refuses them.
 */
import { PspError } from './errors.ts';
import type { PodIdentity, PodIdentityResolver } from './pod-identity.ts';

export interface StaticPod {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly serviceAccount?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export class StaticPodIdentityResolver implements PodIdentityResolver {
  readonly #tokens = new Map<string, { namespace: string; podName: string; podUid: string }>();
  readonly #pods = new Map<string, StaticPod>();

  /** Adds (or replaces) a pod and issues `token` for it. */
  addPod(pod: StaticPod, token: string): this {
    this.#pods.set(key(pod.namespace, pod.podName), pod);
    this.#tokens.set(token, { namespace: pod.namespace, podName: pod.podName, podUid: pod.podUid });
    return this;
  }

  /** Deletes the pod; tokens issued for it remain valid tokens of a pod that is gone. */
  removePod(namespace: string, podName: string): this {
    this.#pods.delete(key(namespace, podName));
    return this;
  }

  async resolve(token: string): Promise<PodIdentity> {
    const bound = this.#tokens.get(token);
    if (!bound) throw new PspError('unauthenticated', 'the token was not accepted');
    const pod = this.#pods.get(key(bound.namespace, bound.podName));
    if (!pod) throw new PspError('pod-gone', `pod ${bound.namespace}/${bound.podName} no longer exists`);
    if (pod.podUid !== bound.podUid) {
      throw new PspError(
        'pod-gone',
        `pod ${bound.namespace}/${bound.podName} is not the pod the token was issued to (uid differs)`,
      );
    }
    return {
      namespace: pod.namespace,
      podName: pod.podName,
      podUid: pod.podUid,
      serviceAccount: pod.serviceAccount,
      annotations: pod.annotations ?? {},
    };
  }
}
