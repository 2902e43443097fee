/**
 * TokenReview (authentication.k8s.io/v1): asks the API server whether a bearer token is valid for the
 * given audiences and whom it names. For services that authenticate pods by their projected
 * service-account tokens; the caller needs RBAC `create` on `tokenreviews`.
 */
import type { KubeHttp } from './kube-http.ts';

export interface TokenReviewStatus {
  authenticated?: boolean;
  /** The audiences the token is valid for among those asked; absent means the API server's own. */
  audiences?: string[];
  user?: {
    username?: string;
    uid?: string;
    groups?: string[];
    /** For a pod-bound token: `authentication.kubernetes.io/pod-name` and `pod-uid`. */
    extra?: Record<string, string[]>;
  };
  error?: string;
}

/** The API server's verdict on `token`; a failed call (not a refused token) is a KubeApiError. */
export async function reviewToken(
  http: KubeHttp,
  token: string,
  audiences: string[],
): Promise<TokenReviewStatus> {
  const review = await http.expect<{ status?: TokenReviewStatus }>(
    'POST',
    '/apis/authentication.k8s.io/v1/tokenreviews',
    [200, 201],
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences },
      },
    },
  );
  return review.status ?? {};
}
