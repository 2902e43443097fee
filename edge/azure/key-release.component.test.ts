/**
 * The agent's REST release (key-release.ts) against the simulated vault, side by side with the Key Vault
 * SDK's `KeyClient.releaseKey` it replaces on the agent's path: the same requests on the wire (method, path,
 * api-version, headers, the bodiless challenge request and its 401), the same token asked of the credential
 * (the challenge's scope and tenant), the same answers and refusals; and its retries.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import type { GetTokenOptions, TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningVault } from '../../sim/vault/start.ts';
import { startWorld, type Identity, type World } from '../../test/support/sim/vault-world.ts';
import { keyClientFor } from './key-client.ts';
import { keyReleaseClientFor, type KeyReleaser } from './key-release.ts';

let world: World;
let kv: RunningVault;
let vaultLog: { operation: unknown; method: unknown; path: unknown; status: unknown }[] = [];

beforeAll(async () => {
  world = await startWorld();
  kv = await world.startVault({
    name: 'kv-rest',
    log: (e) => {
      if (e['operation'] === 'releaseKey') {
        vaultLog.push({
          operation: e['operation'],
          method: e['method'],
          path: e['path'],
          status: e['status'],
        });
      }
    },
  });
  const officer = world.client(kv, 'officer');
  for (const name of ['k', 'k2', 'k3']) {
    await officer.createKey(name, 'RSA-HSM', { exportable: true, releasePolicy: world.policy() });
  }
});
afterAll(async () => {
  await world?.close();
});

/** The requests Node's HTTP client starts (both clients go through it): method, path and headers. */
function recordRequests(): {
  requests: { method: string; path: string; headers: Record<string, unknown> }[];
  stop(): void;
} {
  const requests: { method: string; path: string; headers: Record<string, unknown> }[] = [];
  const onStart = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    if (!request.path.includes('/release')) return;
    requests.push({ method: request.method, path: request.path, headers: { ...request.getHeaders() } });
  };
  diagnostics.subscribe('http.client.request.start', onStart);
  return { requests, stop: () => diagnostics.unsubscribe('http.client.request.start', onStart) };
}

/** The credential, recording what each client asks of it. */
function recording(who: Identity) {
  const inner = world.credential(who);
  const asked: { scopes: string[]; tenantId: string | undefined; enableCae: boolean | undefined }[] = [];
  const credential: TokenCredential = {
    getToken: (scopes, options?: GetTokenOptions) => {
      asked.push({
        scopes: Array.isArray(scopes) ? scopes : [scopes],
        tenantId: options?.tenantId,
        enableCae: options?.enableCae,
      });
      return inner.getToken(scopes, options);
    },
  };
  return { credential, asked };
}

const sdk = (credential: TokenCredential): KeyReleaser =>
  keyClientFor({ vaultUrl: kv.url, credential, caPem: world.ca.certPem, retryOptions: { maxRetries: 0 } });
const rest = (
  credential: TokenCredential,
  o: { sleep?: (ms: number) => Promise<void>; deadline?: number } = {},
) =>
  keyReleaseClientFor({
    vaultUrl: kv.url,
    credential,
    caPem: world.ca.certPem,
    retryOptions: { maxRetries: 3, retryDelayInMs: 250, maxRetryDelayInMs: 4_000 },
    deadline: o.deadline ?? Date.now() + 30_000,
    ...(o.sleep ? { sleep: o.sleep } : {}),
  });

/** The parts of a request that must not differ between the two clients. */
const wire = (r: { method: string; path: string; headers: Record<string, unknown> }) => ({
  method: r.method,
  path: r.path,
  accept: r.headers['accept'],
  contentType: r.headers['content-type'],
  contentLength: r.headers['content-length'],
  bearer: typeof r.headers['authorization'] === 'string' && /^Bearer \S+$/.test(r.headers['authorization']),
  requestId: typeof r.headers['x-ms-client-request-id'] === 'string',
});

async function releaseWith(client: KeyReleaser, name: string, options: { version?: string } = {}) {
  const record = recordRequests();
  vaultLog = [];
  try {
    const result = await client.releaseKey(name, world.attestationToken(), {
      nonce: 'bm9uY2Utb2YtdGhlLXRlc3Q',
      algorithm: 'CKM_RSA_AES_KEY_WRAP',
      ...options,
    });
    return { result, requests: record.requests.map(wire), vault: [...vaultLog] };
  } finally {
    record.stop();
  }
}

describe('a release by REST, as the SDK makes it', () => {
  it('sends the same requests, asks the same token and gets a release JWS', async () => {
    const a = recording('releaser');
    const b = recording('releaser');
    const bySdk = await releaseWith(sdk(a.credential), 'k');
    const byRest = await releaseWith(rest(b.credential), 'k');

    expect(byRest.requests).toEqual(bySdk.requests);
    expect(byRest.vault).toEqual(bySdk.vault);
    expect(byRest.vault.map((v) => v.status)).toEqual([401, 200]);
    expect(byRest.requests[0]).toMatchObject({ bearer: false, contentLength: undefined });
    expect(byRest.requests[0]!.path).toMatch(/^\/keys\/k\/release\?api%2Dversion=2025-07-01$/);
    expect(byRest.requests[1]).toMatchObject({ bearer: true, accept: 'application/json' });
    expect(b.asked).toEqual(a.asked);
    expect(b.asked).toEqual([
      { scopes: ['https://vault.localhost/.default'], tenantId: world.entra.tenantId, enableCae: true },
    ]);
    // A compact JWS whose payload holds the released key, as the SDK returned it.
    expect(byRest.result.value.split('.')).toHaveLength(3);
    const payload = JSON.parse(Buffer.from(byRest.result.value.split('.')[1]!, 'base64url').toString()) as {
      response: { key: { key: { kid: string } } };
    };
    expect(payload.response.key.key.kid).toContain('/keys/k/');
  });

  it('a version in the path, as the SDK puts it', async () => {
    const version = (await world.client(kv, 'officer').getKey('k')).properties.version!;
    const bySdk = await releaseWith(sdk(world.credential('releaser')), 'k', { version });
    const byRest = await releaseWith(rest(world.credential('releaser')), 'k', { version });
    expect(byRest.requests.map((r) => r.path)).toEqual(bySdk.requests.map((r) => r.path));
    expect(byRest.requests[1]!.path).toBe(`/keys/k/${version}/release?api%2Dversion=2025-07-01`);
  });

  it('prepare() answers the challenge once: three releases are then one request each', async () => {
    const client = rest(world.credential('releaser'));
    vaultLog = [];
    await client.prepare({ name: 'k' });
    expect(vaultLog.map((v) => v.status)).toEqual([401]);
    const token = world.attestationToken();
    const released = await Promise.all(
      ['k', 'k2', 'k3'].map((n) => client.releaseKey(n, token, { nonce: 'bg' })),
    );
    expect(released.every((r) => r.value.split('.').length === 3)).toBe(true);
    expect(vaultLog.map((v) => v.status)).toEqual([401, 200, 200, 200]);
  });

  it('refusals carry the vault’s status and message, as the SDK’s RestError does', async () => {
    for (const [who, name] of [
      ['stranger', 'k'],
      ['releaser', 'no-such-key'],
    ] as const) {
      const refusal = (c: KeyReleaser) =>
        c.releaseKey(name, world.attestationToken(), { nonce: 'bg' }).then(
          () => undefined,
          (e: { statusCode?: number; message: string }) => ({
            statusCode: e.statusCode,
            message: e.message.replace(/Activity ID: [\w-]+/, 'Activity ID'),
          }),
        );
      const bySdk = await refusal(sdk(world.credential(who)));
      const byRest = await refusal(rest(world.credential(who)));
      expect(bySdk?.statusCode).toBeGreaterThanOrEqual(400);
      expect(byRest).toEqual(bySdk);
    }
  });
});

describe('retries', () => {
  it('a 500 is retried after a backoff', async () => {
    const slept: number[] = [];
    kv.faults.plan = { outage: { count: 1, status: 500 }, match: /^POST \/keys\/k\/release$/ };
    const r = await releaseWith(
      rest(world.credential('releaser'), { sleep: async (ms) => void slept.push(ms) }),
      'k',
    );
    kv.faults.plan = {};
    expect(r.result.value.split('.')).toHaveLength(3);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(125);
    expect(slept[0]).toBeLessThanOrEqual(250);
  });

  it('a 429 is waited out as Retry-After says, within the deadline', async () => {
    const slept: number[] = [];
    kv.faults.plan = { throttle: { count: 1, retryAfterSeconds: 2 }, match: /^POST \/keys\/k\/release$/ };
    const r = await releaseWith(
      rest(world.credential('releaser'), { sleep: async (ms) => void slept.push(ms) }),
      'k',
    );
    kv.faults.plan = {};
    expect(r.result.value.split('.')).toHaveLength(3);
    expect(slept).toEqual([2_000]);
  });

  it('a Retry-After past the deadline ends the call at once, saying when', async () => {
    const slept: number[] = [];
    kv.faults.plan = { throttle: { count: 1, retryAfterSeconds: 60 }, match: /^POST \/keys\/k\/release$/ };
    const client = rest(world.credential('releaser'), {
      sleep: async (ms) => void slept.push(ms),
      deadline: Date.now() + 10_000,
    });
    const err = await client
      .releaseKey('k', world.attestationToken(), { nonce: 'bg' })
      .catch((e: unknown) => e);
    kv.faults.plan = {};
    expect(slept).toEqual([]);
    expect(err).toMatchObject({ kind: 'retry-after-deadline', status: 429 });
  });

  it('never waits a backoff past the deadline: the last answer is the result', async () => {
    const slept: number[] = [];
    kv.faults.plan = { outage: { count: 10, status: 500 }, match: /^POST \/keys\/k\/release$/ };
    const client = rest(world.credential('releaser'), {
      sleep: async (ms) => void slept.push(ms),
      deadline: Date.now() + 100, // under the first backoff (125–250 ms)
    });
    const err = await client
      .releaseKey('k', world.attestationToken(), { nonce: 'bg' })
      .catch((e: unknown) => e);
    kv.faults.plan = {};
    expect(slept).toEqual([]);
    expect(err).toMatchObject({ statusCode: 500 });
  });
});
