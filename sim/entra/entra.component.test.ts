import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compactVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientAssertionCredential,
  clientSecretCredential,
  workloadIdentityCredential,
} from '../../edge/azure/index.ts';
import { createSimulatorCa } from '../common/tls.ts';
import { SIMULATOR_HEADER } from '../common/http.ts';
import { decodeJwt } from '../common/jwt/jwt.ts';
import { publicKeyOfJwk } from '../common/jwt/issuer-keys.ts';
import { startEntra } from './start.ts';
import type { RunningEntra } from './start.ts';
import { httpsRequest } from '../../test/support/https-request.ts';
import { startTestIssuer } from '../common/jwt/oidc-issuer.ts';
import type { TestIssuer } from '../common/jwt/oidc-issuer.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const WI_CLIENT = '11111111-2222-3333-4444-555555555555';
const DISCOVERED_CLIENT = '22222222-2222-3333-4444-555555555555';
const SECRET_CLIENT = '33333333-2222-3333-4444-555555555555';
const SUBJECT = 'system:serviceaccount:apps:securekey-agent';
const RESOURCE = 'https://vault.localhost';
const fast = { maxRetries: 0 };

const ca = createSimulatorCa('entra test CA');
let entra: RunningEntra;
let k8s: TestIssuer; // configured JWKS
let oidc: TestIssuer; // discovered through its metadata
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'entra-sim-'));

function saToken(
  issuer: TestIssuer,
  claims: Record<string, unknown> = {},
  key?: 'unknown' | 'impostor',
): string {
  const now = Math.floor(Date.now() / 1000);
  return issuer.sign(
    {
      aud: ['api://AzureADTokenExchange'],
      iss: issuer.issuer,
      sub: SUBJECT,
      iat: now,
      nbf: now,
      exp: now + 3600,
      ...claims,
    },
    key === undefined ? {} : { key },
  );
}

function assertionCredential(assertion: () => string, clientId = WI_CLIENT) {
  return clientAssertionCredential({
    tenantId: TENANT,
    clientId,
    authorityHost: entra.url,
    caPem: entra.caPem,
    retryOptions: fast,
    getAssertion: async () => assertion(),
  });
}

beforeAll(async () => {
  k8s = await startTestIssuer({ ca, publicHost: 'oidc.k8s.localhost' });
  oidc = await startTestIssuer({ ca, publicHost: 'oidc.discovered.localhost', x5cOnly: true });
  entra = await startEntra({
    ca,
    tenantId: TENANT,
    assertionIssuers: [{ issuer: k8s.issuer, jwks: k8s.jwks }],
    assertionIssuerCaPem: ca.certPem,
    applications: [
      {
        clientId: WI_CLIENT,
        objectId: 'aaaaaaaa-0000-0000-0000-000000000001',
        federatedCredentials: [{ issuer: k8s.issuer, subject: SUBJECT }],
      },
      { clientId: DISCOVERED_CLIENT, federatedCredentials: [{ issuer: oidc.issuer, subject: SUBJECT }] },
      { clientId: SECRET_CLIENT, clientSecrets: ['s3cret-value'] },
    ],
  });
});

afterAll(async () => {
  await entra?.close();
  await k8s?.close();
  await oidc?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('simulated Entra ID with the real @azure/identity credentials', () => {
  it('exchanges a federated service-account token for an RS256 access token (ClientAssertionCredential)', async () => {
    const cred = assertionCredential(() => saToken(k8s));
    const before = entra.tokenRequests(WI_CLIENT);
    const token = await cred.getToken(`${RESOURCE}/.default`);
    const again = await cred.getToken(`${RESOURCE}/.default`);
    expect(again.token).toBe(token.token); // MSAL cached it: expires_in > 300
    expect(entra.tokenRequests(WI_CLIENT) - before).toBe(1);

    const jwt = decodeJwt(token.token);
    expect(jwt.header).toMatchObject({
      alg: 'RS256',
      typ: 'JWT',
      kid: entra.service.kid,
      x5t: entra.service.kid,
    });
    const jwk = entra.service.jwks().keys[0];
    expect(jwk).toBeDefined();
    await compactVerify(token.token, publicKeyOfJwk(jwk!), { algorithms: ['RS256'] });
    const now = Math.floor(Date.now() / 1000);
    expect(jwt.payload).toMatchObject({
      aud: RESOURCE,
      iss: `${entra.url}/${TENANT}/`,
      tid: TENANT,
      appid: WI_CLIENT,
      oid: 'aaaaaaaa-0000-0000-0000-000000000001',
      appidacr: '2',
      ver: '1.0',
    });
    expect((jwt.payload['exp'] as number) - now).toBeGreaterThan(3500);
    expect(token.expiresOnTimestamp - Date.now()).toBeGreaterThan(3_000_000);
  });

  it('reads the assertion from a token file and discovers an issuer through its OpenID metadata (WorkloadIdentityCredential)', async () => {
    const file = path.join(tmp, 'token');
    fs.writeFileSync(file, saToken(oidc));
    const cred = workloadIdentityCredential({
      tenantId: TENANT,
      clientId: DISCOVERED_CLIENT,
      tokenFilePath: file,
      authorityHost: entra.url,
      caPem: entra.caPem,
      retryOptions: fast,
    });
    const before = oidc.requests();
    const token = await cred.getToken(`${RESOURCE}/.default`);
    expect(decodeJwt(token.token).payload['appid']).toBe(DISCOVERED_CLIENT);
    expect(oidc.requests() - before).toBe(2); // metadata, then keys
  });

  it('issues tokens for a client secret and refuses a wrong one (7000215)', async () => {
    const good = clientSecretCredential({
      tenantId: TENANT,
      clientId: SECRET_CLIENT,
      clientSecret: 's3cret-value',
      authorityHost: entra.url,
      caPem: entra.caPem,
      retryOptions: fast,
    });
    expect(decodeJwt((await good.getToken(`${RESOURCE}/.default`)).token).payload['appidacr']).toBe('1');
    const bad = clientSecretCredential({
      tenantId: TENANT,
      clientId: SECRET_CLIENT,
      clientSecret: 'nope',
      authorityHost: entra.url,
      caPem: entra.caPem,
      retryOptions: fast,
    });
    await expect(bad.getToken(`${RESOURCE}/.default`)).rejects.toThrow(/7000215/);
  });

  it.each([
    [
      'a subject no credential names',
      () => saToken(k8s, { sub: 'system:serviceaccount:apps:other' }),
      /700213/,
    ],
    ['another audience', () => saToken(k8s, { aud: 'api://something-else' }), /700212/],
    ['an issuer no credential names', () => saToken(oidc), /700211/],
    [
      'an expired assertion',
      () =>
        saToken(k8s, {
          exp: Math.floor(Date.now() / 1000) - 3600,
          nbf: Math.floor(Date.now() / 1000) - 7200,
        }),
      /700024/,
    ],
    ['a key the issuer never published', () => saToken(k8s, {}, 'unknown'), /700027/],
    ['a published kid over another key', () => saToken(k8s, {}, 'impostor'), /700027/],
    ['an unsigned assertion', () => unsigned(saToken(k8s)), /50027/],
    ['garbage', () => 'not-a-jwt', /50027/],
  ])('refuses %s', async (_what, assertion, code) => {
    await expect(assertionCredential(assertion).getToken(`${RESOURCE}/.default`)).rejects.toThrow(code);
  });
});

describe('simulated Entra ID on the wire', () => {
  const token = (form: Record<string, string>) =>
    httpsRequest(`${entra.url}/${TENANT}/oauth2/v2.0/token`, {
      caPem: entra.caPem,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: new URLSearchParams(form).toString(),
    });
  const assertionForm = (assertion: string) => ({
    client_id: WI_CLIENT,
    scope: `${RESOURCE}/.default`,
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  });

  it('answers success without Retry-After and with expires_in 3599', async () => {
    const r = await token(assertionForm(saToken(k8s)));
    expect(r.status).toBe(200);
    expect(r.headers['retry-after']).toBeUndefined();
    expect(r.headers[SIMULATOR_HEADER]).toBe('entra');
    expect(r.json).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
  });

  it("answers failures in Entra's error shape", async () => {
    const r = await token(assertionForm(saToken(k8s, { sub: 'x' })));
    expect(r.status).toBe(401);
    expect(r.headers['retry-after']).toBeUndefined();
    const body = r.json as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [700213] });
    expect(body['error_description']).toMatch(
      /^AADSTS700213: .*subject 'x'.*Trace ID: .*Correlation ID: .*Timestamp: /s,
    );
    for (const f of ['timestamp', 'trace_id', 'correlation_id', 'error_uri'])
      expect(typeof body[f]).toBe('string');
  });

  it.each([
    [{ grant_type: 'password' }, 400, 'unsupported_grant_type', 70003],
    [{ scope: 'https://vault.localhost' }, 400, 'invalid_scope', 1002012],
    [{ client_id: 'unknown-app' }, 400, 'unauthorized_client', 700016],
    [{ client_assertion: '' }, 401, 'invalid_client', 7000218],
  ])('refuses a malformed request %j', async (change, status, error, code) => {
    const r = await token({ ...assertionForm(saToken(k8s)), ...change });
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject({ error, error_codes: [code] });
  });

  it('refuses an unknown tenant (90002) and serves MSAL-compatible metadata', async () => {
    const meta = await httpsRequest(`${entra.url}/${TENANT}/v2.0/.well-known/openid-configuration`, {
      caPem: entra.caPem,
    });
    expect(meta.json).toMatchObject({
      issuer: `${entra.url}/{tenantid}/v2.0`,
      token_endpoint: `${entra.url}/${TENANT}/oauth2/v2.0/token`,
      jwks_uri: `${entra.url}/${TENANT}/discovery/v2.0/keys`,
    });
    const discovery = await httpsRequest(`${entra.url}/common/discovery/instance?api-version=1.1`, {
      caPem: entra.caPem,
    });
    expect(discovery.json).toMatchObject({
      tenant_discovery_endpoint: `${entra.url}/${TENANT}/v2.0/.well-known/openid-configuration`,
    });
    const other = await httpsRequest(`${entra.url}/other-tenant/v2.0/.well-known/openid-configuration`, {
      caPem: entra.caPem,
    });
    expect(other.status).toBe(400);
    expect(other.json).toMatchObject({ error_codes: [90002] });
  });
});

function unsigned(token: string): string {
  const [, payload] = token.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  return `${header}.${payload}.`;
}
