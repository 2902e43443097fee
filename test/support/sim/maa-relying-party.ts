/**
 * Test support: a relying party that trusts the simulator CA and verifies MAA tokens the way Key Vault
 * does — OpenID metadata of `iss` → `jwks_uri` → the key whose `kid` the token names, read from its
 * `x5c` certificate — but with `jose`, independently of the simulator's own code.
 */
import { decodeProtectedHeader, importX509, jwtVerify, type JWTPayload } from 'jose';
import { httpsRequest, type RawResponse } from '../https-request.ts';

export type HttpResult = RawResponse;

export function request(
  url: string,
  caPem: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  return httpsRequest(url, { caPem, ...options });
}

export interface VerifiedToken {
  payload: JWTPayload;
  header: Record<string, unknown>;
  /** The metadata document and JWKS that were used. */
  metadata: Record<string, unknown>;
  jwks: { keys: Record<string, unknown>[] };
}

/** Verifies `token` as issued by `issuer` at `now`; throws when any step fails. */
export async function verifyViaDiscovery(
  token: string,
  issuer: string,
  caPem: string,
  now: Date,
): Promise<VerifiedToken> {
  const meta = await request(`${issuer}/.well-known/openid-configuration`, caPem);
  if (meta.status !== 200) throw new Error(`metadata: HTTP ${meta.status}`);
  const metadata = meta.json as Record<string, unknown>;
  const keys = await request(String(metadata['jwks_uri']), caPem);
  if (keys.status !== 200) throw new Error(`jwks: HTTP ${keys.status}`);
  const jwks = keys.json as { keys: Record<string, unknown>[] };
  const header = decodeProtectedHeader(token) as Record<string, unknown>;
  const jwk = jwks.keys.find((k) => k['kid'] === header['kid']);
  if (jwk === undefined)
    throw new Error(`no key with kid ${String(header['kid'])} in ${String(metadata['jwks_uri'])}`);
  const [der] = jwk['x5c'] as string[];
  const pem = `-----BEGIN CERTIFICATE-----\n${der!.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const key = await importX509(pem, 'RS256');
  const { payload } = await jwtVerify(token, key, { issuer, algorithms: ['RS256'], currentDate: now });
  return { payload, header, metadata, jwks };
}
