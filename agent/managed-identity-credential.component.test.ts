import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_MANAGED_IDENTITY } from '../sim/sandbox/identities.ts';
import { startSandbox, type Sandbox } from '../sim/sandbox/sandbox.ts';
import { ManagedIdentityTokenCredential } from './managed-identity-credential.ts';

let sb: Sandbox;
let dir = '';
const SCOPE = 'https://managedhsm.localhost/.default';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'agent-managed-identity-'));
  sb = await startSandbox({ dir });
});
afterAll(async () => {
  await sb?.close();
  rmSync(dir, { recursive: true, force: true });
});

const credential = (o: Partial<ConstructorParameters<typeof ManagedIdentityTokenCredential>[0]> = {}) =>
  new ManagedIdentityTokenCredential({ imdsUrl: sb.imds.url, attempts: 3, sleep: async () => {}, ...o });

describe('ManagedIdentityTokenCredential against the simulated IMDS', () => {
  it('gets the container group’s identity’s vault token in one request; expiry from expires_on', async () => {
    const before = sb.imds.service.counters.tokenRequests;
    const token = await credential().getToken(SCOPE);
    expect(sb.imds.service.counters.tokenRequests - before).toBe(1);
    const claims = decodeJwt(token.token);
    expect(claims).toMatchObject({
      aud: 'https://managedhsm.localhost',
      appid: AGENT_MANAGED_IDENTITY.clientId,
      oid: AGENT_MANAGED_IDENTITY.objectId,
    });
    expect(token.expiresOnTimestamp).toBe((claims.exp as number) * 1000);
  });

  it('names a user-assigned identity by client id or resource id', async () => {
    for (const o of [
      { clientId: AGENT_MANAGED_IDENTITY.clientId },
      { resourceId: AGENT_MANAGED_IDENTITY.resourceId },
    ]) {
      const claims = decodeJwt((await credential(o).getToken(SCOPE)).token);
      expect(claims['appid']).toBe(AGENT_MANAGED_IDENTITY.clientId);
    }
  });

  it('the simulated vault accepts the token: it judges the release-only identity, not the token', async () => {
    const { keyClientFor } = await import('../edge/azure/index.ts');
    const client = keyClientFor({
      vaultUrl: sb.vault.url,
      credential: credential(),
      caPem: sb.ca.certPem,
      retryOptions: { maxRetries: 0 },
    });
    const err = (await client.getKey('anything').catch((e: unknown) => e)) as {
      statusCode?: number;
      message?: string;
    };
    expect(err.statusCode).toBe(403); // not 401: authenticated, and only allowed to release
    expect(err.message).toContain(AGENT_MANAGED_IDENTITY.objectId);
  });

  it('an identity IMDS does not have: refused with IMDS’s reason, asked once', async () => {
    const before = sb.imds.service.counters.tokenRequests;
    const err = (await credential({ clientId: '5a4db0c2-0000-4000-8000-00000000dead' })
      .getToken(SCOPE)
      .catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      'IMDS refused a token for managed identity 5a4db0c2-0000-4000-8000-00000000dead (400): invalid_request: Identity not found',
    );
    expect(sb.imds.service.counters.tokenRequests - before).toBe(1);
  });

  it('rides out what IMDS asks to be retried (410 while it updates, 5xx); gives up after the attempts', async () => {
    const delays: number[] = [];
    sb.imds.faults.plan = { outage: { count: 2, status: 410 } };
    try {
      const token = await credential({
        sleep: async (ms) => {
          delays.push(ms);
        },
      }).getToken(SCOPE);
      expect(token.token).not.toBe('');
      expect(delays).toHaveLength(2);
      sb.imds.faults.plan = { outage: { count: 5, status: 500 } };
      await expect(credential().getToken(SCOPE)).rejects.toThrow(/\(500\)/);
    } finally {
      sb.imds.faults.plan = {};
    }
  });
});

describe('the sandbox’s IMDS serves real clients', () => {
  it('@azure/identity’s ManagedIdentityCredential, pointed at it as AKS pod identity points it', async () => {
    const { ManagedIdentityCredential } = await import('@azure/identity');
    const saved = process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
    process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = sb.imds.url;
    try {
      const sdk = new ManagedIdentityCredential({ clientId: AGENT_MANAGED_IDENTITY.clientId });
      const token = await sdk.getToken(SCOPE);
      expect(decodeJwt(token.token)).toMatchObject({
        aud: 'https://managedhsm.localhost',
        appid: AGENT_MANAGED_IDENTITY.clientId,
      });
    } finally {
      if (saved === undefined) delete process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'];
      else process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = saved;
    }
  });
});
