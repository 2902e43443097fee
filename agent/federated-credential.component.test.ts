import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../sim/sandbox/sandbox.ts';
import { HttpError } from '../edge/http/client.ts';
import { FederatedTokenCredential } from './federated-credential.ts';

let sb: Sandbox;
let dir = '';
const SCOPE = 'https://managedhsm.localhost/.default';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'agent-federated-'));
  sb = await startSandbox({ dir });
});
afterAll(async () => {
  await sb?.close();
  rmSync(dir, { recursive: true, force: true });
});

function credential(over: Partial<ConstructorParameters<typeof FederatedTokenCredential>[0]> = {}) {
  const env = sb.env('agent');
  return new FederatedTokenCredential({
    tenantId: env['AZURE_TENANT_ID']!,
    clientId: env['AZURE_CLIENT_ID']!,
    tokenFile: env['AZURE_FEDERATED_TOKEN_FILE']!,
    authorityHost: env['AZURE_AUTHORITY_HOST']!,
    caPem: sb.ca.certPem,
    attempts: 2,
    ...over,
  });
}

describe('FederatedTokenCredential against the simulated Entra ID', () => {
  it('exchanges the projected token for a vault token of the agent application, in one request', async () => {
    const clientId = sb.env('agent')['AZURE_CLIENT_ID']!;
    const before = sb.entra.tokenRequests(clientId);
    const token = await credential().getToken(SCOPE);
    expect(sb.entra.tokenRequests(clientId)).toBe(before + 1);
    const claims = decodeJwt(token.token);
    expect(claims).toMatchObject({ aud: 'https://managedhsm.localhost', appid: clientId });
    expect(token.expiresOnTimestamp - Date.now()).toBeGreaterThan(55 * 60_000);
  });

  it('the Key Vault SDK authenticates with it: the vault judges the release-only identity, not its token', async () => {
    const { keyClientFor } = await import('../edge/azure/index.ts');
    const client = keyClientFor({
      vaultUrl: sb.vault.url,
      credential: credential(),
      caPem: sb.ca.certPem,
      retryOptions: { maxRetries: 0 },
    });
    const err = (await client.getKey('anything').catch((e: unknown) => e)) as { statusCode?: number };
    // 403 (the agent's role may release, not read), not 401: the token was accepted.
    expect(err.statusCode).toBe(403);
  });

  it('a federated credential Entra does not know: refused with its AADSTS reason, never retried, assertion not echoed', async () => {
    const stranger = credential({ clientId: '00000000-0000-4000-8000-00000000dead' });
    const before = sb.entra.tokenRequests('00000000-0000-4000-8000-00000000dead');
    const err = (await stranger.getToken(SCOPE).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^Entra ID refused the workload identity token exchange \(4\d\d\): AADSTS\d+/,
    );
    const assertion = readFileSync(sb.env('agent')['AZURE_FEDERATED_TOKEN_FILE']!, 'utf8');
    expect(err.message).not.toContain(assertion.trim().slice(0, 40));
    expect(sb.entra.tokenRequests('00000000-0000-4000-8000-00000000dead') - before).toBe(1); // asked once, not retried
  });

  it('names a missing token file; rides out an Entra outage', async () => {
    const missing = path.join(dir, 'no-token');
    await expect(credential({ tokenFile: missing }).getToken(SCOPE)).rejects.toThrow(
      `cannot read the workload identity token ${missing} (ENOENT)`,
    );
    const failedBefore = sb.entra.faults.injected.failed;
    sb.entra.faults.plan = { outage: { count: 1, status: 503 } };
    try {
      const token = await credential().getToken(SCOPE);
      expect(token.token.split('.')).toHaveLength(3);
      expect(sb.entra.faults.injected.failed - failedBefore).toBeGreaterThanOrEqual(1);
    } finally {
      sb.entra.faults.plan = {};
    }
  });

  it('gives up at the run deadline instead of retrying past it', async () => {
    const failedBefore = sb.entra.faults.injected.failed;
    sb.entra.faults.plan = { outage: { count: 100, status: 503 } };
    try {
      await expect(credential({ attempts: 4, deadline: Date.now() + 300 }).getToken(SCOPE)).rejects.toThrow(
        /\(503\)/,
      );
      // Without the deadline: 4 attempts (backoff 125–250, 250–500, 500–1000 ms). With it, the third would
      // start past the deadline.
      expect(sb.entra.faults.injected.failed - failedBefore).toBeLessThanOrEqual(2);
    } finally {
      sb.entra.faults.plan = {};
    }
  });

  /** Entra throttles `count` token requests with Retry-After; the credential's waits are recorded, not made. */
  async function throttled(count: number, retryAfterSeconds: number, deadline: number) {
    const slept: number[] = [];
    const before = sb.entra.faults.injected.throttled;
    sb.entra.faults.plan = { throttle: { count, retryAfterSeconds } };
    try {
      const c = credential({ attempts: 4, deadline, sleep: async (ms) => void slept.push(ms) });
      const result = await c.getToken(SCOPE).catch((e: unknown) => e);
      return { result, slept, throttled: sb.entra.faults.injected.throttled - before };
    } finally {
      sb.entra.faults.plan = {};
    }
  }

  it('throttled (429, Retry-After: 2): waits what Entra asks instead of its backoff, then succeeds', async () => {
    const { result, slept, throttled: asked } = await throttled(1, 2, Date.now() + 30_000);
    expect((result as { token: string }).token.split('.')).toHaveLength(3);
    expect(asked).toBe(1);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(1_900); // 2 s less the time the answer took to arrive
    expect(slept[0]).toBeLessThanOrEqual(2_000);
  });

  it('throttled past the run deadline: fails at once, saying when to retry, and asks no more', async () => {
    const started = Date.now();
    const { result, slept, throttled: asked } = await throttled(5, 60, started + 10_000);
    const err = result as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.kind).toBe('retry-after-deadline');
    expect(err.status).toBe(429);
    expect(err.retryAt!.getTime() - started).toBeGreaterThanOrEqual(59_000);
    expect(err.hint).toBe(`retry after ${err.retryAt!.toISOString()}`);
    expect(err.endpoint).toMatch(/\/oauth2\/v2\.0\/token$/);
    expect(slept).toEqual([]);
    expect(asked).toBe(1);
  });

  it('re-reads the token file for every request (kubelet rotates it)', async () => {
    const file = path.join(dir, 'rotating.token');
    writeFileSync(file, 'not-a-jwt');
    const c = credential({ tokenFile: file });
    await expect(c.getToken(SCOPE)).rejects.toThrow(/Entra ID refused/);
    writeFileSync(file, readFileSync(sb.env('agent')['AZURE_FEDERATED_TOKEN_FILE']!));
    await expect(c.getToken(SCOPE)).resolves.toMatchObject({ token: expect.any(String) });
  });
});
