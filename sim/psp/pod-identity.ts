/**
 * Who is asking: the pod a Kubernetes service-account token was issued to. The PSP takes a resolver
 * so the real one (TokenReview + the pod from the API server) and the sandbox's static table are
 * interchangeable.
 */
export interface PodIdentity {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly serviceAccount: string | undefined;
  /** The pod's annotations as the API server has them now (they carry the policy). */
  readonly annotations: Readonly<Record<string, string>>;
}

export interface PodIdentityResolver {
  /** The pod `token` belongs to. Rejects with PspError `unauthenticated`, `pod-gone`, ... */
  resolve(token: string): Promise<PodIdentity>;
}
