/**
 * The cluster simulators read the service-account issuer's keys from a real API server: it serves them
 * only as application/jwk-set+json (an Accept of application/json gets 406, which crash-looped the
 * simulators pod).
 */
import { describe, expect, inject, it } from 'vitest';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { serviceAccountJwks } from '../../edge/kube/service-account-issuer.ts';

describe('service-account issuer keys from the API server', () => {
  const http = KubeHttp.fromFile(inject('kubeconfig'));

  it('are a JWK set with at least one RSA or EC key', async () => {
    const jwks = await serviceAccountJwks(http);
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(['RSA', 'EC']).toContain(jwks.keys[0]!['kty']);
  });

  it('are refused as plain JSON (why the request names the JWK-set type)', async () => {
    const res = await http.request('GET', '/openid/v1/jwks', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(406);
  });
});
