import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATOR_HEADER } from '../common/http.ts';
import { httpsRequest } from '../../test/support/https-request.ts';
import type { RunningVault } from './start.ts';
import { rejection, startWorld } from '../../test/support/sim/vault-world.ts';
import type { World } from '../../test/support/sim/vault-world.ts';

let world: World;
let kv: RunningVault;
let hsm: RunningVault;

beforeAll(async () => {
  world = await startWorld();
  kv = await world.startVault({ name: 'kv-auth' });
  hsm = await world.startVault({ name: 'hsm-auth', flavour: 'managedhsm' });
  await world
    .client(kv, 'officer')
    .createKey('k1', 'RSA-HSM', { exportable: true, releasePolicy: world.policy() });
});
afterAll(() => world?.close());

async function bearer(scope = 'https://vault.localhost/.default'): Promise<string> {
  const token = await world.credential('officer').getToken(scope);
  if (token === null) throw new Error(`no token for ${scope}`);
  return token.token;
}

function call(
  vault: RunningVault,
  path: string,
  options: { method?: string; token?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  return httpsRequest(`${vault.url}${path}`, {
    caPem: world.ca.certPem,
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
}

describe('authentication as Key Vault does it', () => {
  it('answers a request without a token with 401 and the bearer challenge, before reading the body', async () => {
    const r = await call(kv, '/keys/k1/create?api%2Dversion=2025-07-01', {
      method: 'POST',
      body: 'not even an object',
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(
      `Bearer authorization="${world.entra.url}/${world.entra.tenantId}", resource="https://vault.localhost"`,
    );
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers[SIMULATOR_HEADER]).toBe('key-vault');
    expect(r.json).toMatchObject({ error: { code: 'Unauthorized' } });
    expect((r.json as { error: { message: string } }).error.message).toMatch(
      /^AKV10000: Request is missing a Bearer or PoP token\. \(Activity ID: [0-9a-f-]{36}\)$/,
    );
  });

  it('challenges for the Managed HSM resource on an HSM', async () => {
    const r = await call(hsm, '/keys/k1/?api-version=7.4');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(
      `Bearer authorization="${world.entra.url}/${world.entra.tenantId}", resource="https://managedhsm.localhost"`,
    );
    expect(r.headers[SIMULATOR_HEADER]).toBe('managed-hsm');
  });

  it('refuses a token for another audience with 401 AKV10022 and the challenge', async () => {
    const r = await call(kv, '/keys/k1/?api-version=7.5', {
      token: await bearer('https://other.localhost/.default'),
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('resource="https://vault.localhost"');
    expect((r.json as { error: { message: string } }).error.message).toMatch(
      /^AKV10022: Invalid audience\. Expected https:\/\/vault\.localhost, found: https:\/\/other\.localhost\./,
    );
  });

  it('refuses a vault token presented to a Managed HSM (401)', async () => {
    const r = await call(hsm, '/keys/k1/?api-version=7.5', { token: await bearer() });
    expect(r.status).toBe(401);
  });

  it('refuses a token whose signature was tampered with (401)', async () => {
    const [h, p] = (await bearer()).split('.');
    const r = await call(kv, '/keys/k1/?api-version=7.5', {
      token: `${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`,
    });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: { code: 'Unauthorized' } });
  });

  it('serves a good token, with the api-version percent-encoded as the SDK sends it', async () => {
    const r = await call(kv, '/keys/k1/?api%2Dversion=2025-07-01', { token: await bearer() });
    expect(r.status).toBe(200);
    expect((r.json as { key: { kid: string } }).key.kid).toMatch(
      new RegExp(`^${kv.url}/keys/k1/[0-9a-f]{32}$`),
    );
  });

  it.each([
    ['/keys/k1/', /^The 'api-version' query parameter is missing/],
    ['/keys/k1/?api-version=7.2', /^The specified version \(7\.2\) is not recognized/],
  ])('refuses %s with 400 BadParameter', async (path, message) => {
    const r = await call(kv, path, { token: await bearer() });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: 'BadParameter' } });
    expect((r.json as { error: { message: string } }).error.message).toMatch(message);
  });

  it('refuses changing exportable with AKV.SKR.1014, and accepts restating it', async () => {
    const refused = await call(kv, '/keys/k1/?api-version=7.5', {
      method: 'PATCH',
      token: await bearer(),
      body: { attributes: { exportable: false } },
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'BadParameter' } });
    expect((refused.json as { error: { message: string } }).error.message).toMatch(
      /^AKV\.SKR\.1014: Cannot modify the exportable state of a key\./,
    );
    const same = await call(kv, '/keys/k1/?api-version=7.5', {
      method: 'PATCH',
      token: await bearer(),
      body: { attributes: { exportable: true } },
    });
    expect(same.status).toBe(200);
  });

  it('answers malformed JSON and unknown paths with JSON errors', async () => {
    const bad = await httpsRequest(`${kv.url}/keys/k2/create?api-version=7.5`, {
      caPem: world.ca.certPem,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await bearer()}` },
      body: '{"kty":',
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: 'BadParameter' } });
    const missing = await call(kv, '/secrets/s1?api-version=7.5', { token: await bearer() });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: { code: 'NotFound' } });
  });
});

describe('authorisation per identity', () => {
  it('refuses key creation to a release-only identity (403 naming keys/create)', async () => {
    const err = await rejection(world.client(kv, 'releaser').createKey('k9', 'RSA-HSM'));
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(
      /^Operation "create" is not allowed\. Caller appid=bbbbbbbb-.*does not have permission keys\/create .*Key Vault Crypto Officer/,
    );
  });

  it('refuses release to the officer (403 naming keys/release and the release role)', async () => {
    const err = await rejection(world.client(kv, 'officer').releaseKey('k1', world.attestationToken()));
    expect(err).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(err.message).toMatch(
      /keys\/release .*Microsoft\.KeyVault\/vaults\/keys\/release\/action.*Key Vault Crypto Service Release User/,
    );
  });

  it('refuses everything to an identity without roles, and names the HSM role on an HSM', async () => {
    expect(await rejection(world.client(kv, 'stranger').getKey('k1'))).toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
    });
    const err = await rejection(world.client(hsm, 'releaser').createKey('k1', 'RSA-HSM'));
    expect(err.message).toMatch(/Managed HSM Crypto Officer/);
  });

  it('applies role changes to the next request', async () => {
    const stranger = world.client(kv, 'stranger');
    kv.roleAssignments.push({
      principalId: 'cccccccc-3333-4333-8333-000000000003',
      roles: ['crypto-officer'],
    });
    try {
      expect((await stranger.getKey('k1')).name).toBe('k1');
    } finally {
      kv.roleAssignments.pop();
    }
  });
});
