/**
 * The cluster's service-account issuer keys (`GET /openid/v1/jwks`), read with the caller's own
 * credentials: how a service in the cluster verifies projected tokens itself. The API server serves this
 * document only as `application/jwk-set+json` and answers 406 to `Accept: application/json`.
 */
import type { KubeHttp } from './kube-http.ts';

/** A JSON Web Key Set as the API server publishes it (RFC 7517 §5). */
export interface ServiceAccountJwks {
  keys: Array<Record<string, unknown>>;
}

export async function serviceAccountJwks(kube: KubeHttp, timeoutMs = 10_000): Promise<ServiceAccountJwks> {
  return kube.expect<ServiceAccountJwks>('GET', '/openid/v1/jwks', [200], {
    headers: { accept: 'application/jwk-set+json' },
    timeoutMs,
  });
}
