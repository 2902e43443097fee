import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatorCa } from '../common/tls.ts';
import { startEntra, type RunningEntra } from '../entra/index.ts';
import { IMDS_TOKEN_PATH, MISSING_METADATA_HEADER, startImds, type RunningImds } from './index.ts';

const TENANT = '0c0ffee0-0000-4000-8000-000000000001';
const MI = {
  clientId: '0c0ffee0-0000-4000-8000-0000000000b1',
  objectId: '0c0ffee0-0000-4000-8000-0000000000c1',
  resourceId:
    '/subscriptions/0c0ffee0-0000-4000-8000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/skr',
};
const OTHER = {
  ...MI,
  clientId: '0c0ffee0-0000-4000-8000-0000000000b2',
  objectId: undefined,
  resourceId: MI.resourceId + '2',
};

let entra: RunningEntra;
let imds: RunningImds;
beforeAll(async () => {
  const ca = createSimulatorCa('imds spec CA');
  entra = await startEntra({
    ca,
    tenantId: TENANT,
    applications: [],
    resources: ['https://managedhsm.azure.net'],
  });
  imds = await startImds({ entra: entra.service, identities: [MI, OTHER] });
});
afterAll(async () => {
  await imds?.close();
  await entra?.close();
});

const get = (query: string, headers: Record<string, string> = { Metadata: 'true' }) =>
  fetch(`${imds.url}${IMDS_TOKEN_PATH}?${query}`, { headers });
const Q = 'api-version=2018-02-01&resource=https%3A%2F%2Fmanagedhsm.azure.net';

describe('the simulated IMDS identity endpoint', () => {
  it('refuses without `Metadata: true` (or through a proxy) with IMDS’s body, before anything else', async () => {
    const cases: Record<string, string>[] = [
      {},
      { Metadata: 'True' },
      { Metadata: 'true', 'X-Forwarded-For': '10.0.0.1' },
    ];
    for (const headers of cases) {
      const res = await get(`${Q}&client_id=${MI.clientId}`, headers);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual(MISSING_METADATA_HEADER);
    }
    expect(MISSING_METADATA_HEADER).toEqual({
      error: 'bad_request_102',
      error_description: 'Required metadata header not specified',
    });
  });

  it('issues a token of the named identity, signed by the tenant, numbers as strings as IMDS sends them', async () => {
    for (const selector of [
      `client_id=${MI.clientId}`,
      `object_id=${MI.objectId}`,
      `mi_res_id=${encodeURIComponent(MI.resourceId.toUpperCase())}`,
    ]) {
      const res = await get(`${Q}&${selector}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(
        [
          'access_token',
          'client_id',
          'expires_in',
          'expires_on',
          'ext_expires_in',
          'not_before',
          'resource',
          'token_type',
        ].sort(),
      );
      expect(body).toMatchObject({
        client_id: MI.clientId,
        resource: 'https://managedhsm.azure.net',
        token_type: 'Bearer',
        expires_in: '86399',
      });
      expect(Number(body['expires_on']) - Number(body['not_before'])).toBe(86_399);
      const claims = decodeJwt(body['access_token'] as string);
      expect(claims).toMatchObject({
        aud: 'https://managedhsm.azure.net',
        iss: entra.service.accessTokenIssuer,
        appid: MI.clientId,
        oid: MI.objectId,
        tid: TENANT,
        xms_mirid: MI.resourceId,
      });
    }
  });

  it('hands out only identities assigned here; with two and none named, none', async () => {
    const unknown = await get(`${Q}&client_id=0c0ffee0-0000-4000-8000-00000000dead`);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: 'invalid_request',
      error_description: 'Identity not found',
    });
    const ambiguous = await get(Q);
    expect(ambiguous.status).toBe(400);
    const two = await get(`${Q}&client_id=${MI.clientId}&mi_res_id=${encodeURIComponent(MI.resourceId)}`);
    expect(two.status).toBe(400);
  });

  it('a resource the tenant does not know: Entra’s invalid_resource; missing parameters: 400', async () => {
    const res = await get(
      `api-version=2018-02-01&resource=https%3A%2F%2Fvault.example&client_id=${MI.clientId}`,
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_resource');
    expect(body.error_description).toMatch(/^AADSTS500011: /);
    expect((await get(`resource=https%3A%2F%2Fmanagedhsm.azure.net&client_id=${MI.clientId}`)).status).toBe(
      400,
    );
    expect((await get(`api-version=2018-02-01&client_id=${MI.clientId}`)).status).toBe(400);
  });
});

describe('with one identity', () => {
  it('a request that names none gets it (the resource’s only identity)', async () => {
    const single = await startImds({ entra: entra.service, identities: [MI] });
    try {
      const res = await fetch(`${single.url}${IMDS_TOKEN_PATH}?${Q}`, { headers: { Metadata: 'true' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { client_id: string }).client_id).toBe(MI.clientId);
    } finally {
      await single.close();
    }
  });
});
