/**
 * The vault's throttling, against the simulated vault through the real Key Vault SDK: a 429 with
 * Retry-After is waited out as the vault asks when that ends before the run's deadline, and ends the
 * release at once, saying when to retry, when it would not.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyClientFor } from '../../edge/azure/key-client.ts';
import type { RunningVault } from '../../sim/vault/start.ts';
import { startWorld, type World } from '../../test/support/sim/vault-world.ts';
import type { KeySpec } from '../config.ts';
import { AgentError } from '../errors.ts';
import { releaseKey, type ReleaseContext } from './release-key.ts';

let world: World;
let kv: RunningVault;

beforeAll(async () => {
  world = await startWorld();
  kv = await world.startVault({ name: 'kv-throttling' });
  await world
    .client(kv, 'officer')
    .createKey('k', 'RSA-HSM', { exportable: true, releasePolicy: world.policy() });
});
afterAll(async () => {
  await world?.close();
});

/** A release as the agent makes it (its SDK retries too), recording the waits instead of waiting. */
async function release(deadline: number) {
  const slept: number[] = [];
  const client = keyClientFor({
    vaultUrl: kv.url,
    credential: world.credential('releaser'),
    caPem: world.ca.certPem,
    retryOptions: { maxRetries: 3, retryDelayInMs: 250, maxRetryDelayInMs: 4_000 },
    retryAfter: { deadline, sleep: async (ms) => void slept.push(ms) },
  });
  const key: KeySpec = {
    alias: 'k',
    vaultUrl: kv.url,
    name: 'k',
    attestationUrl: world.attest.issuer,
    format: 'raw',
    path: '/nonexistent/k',
  };
  const context: ReleaseContext = {
    enc: 'CKM_RSA_AES_KEY_WRAP',
    trustRoots: [new X509Certificate(world.ca.certPem)],
    hostData: world.hostdata,
    clientId: 'releaser',
    admissionDeadline: 0,
    now: () => new Date(),
  };
  const result = await releaseKey(key, client, world.attestationToken(), context).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return { ...result, slept };
}

describe('a throttled release (429 with Retry-After)', () => {
  const throttle = (retryAfterSeconds: number) => {
    kv.faults.plan = { throttle: { count: 1, retryAfterSeconds }, match: /^POST \/keys\/k\/.*release$/ };
  };

  it('waits what the vault asks (Retry-After: 2), not its own backoff, then releases', async () => {
    const [throttled, released] = [kv.stats.count('releaseKey', 429), kv.stats.count('releaseKey', 200)];
    throttle(2);
    const r = await release(Date.now() + 30_000);
    expect(r).not.toHaveProperty('error');
    expect(r.slept).toEqual([2_000]);
    expect(kv.stats.count('releaseKey', 429) - throttled).toBe(1);
    expect(kv.stats.count('releaseKey', 200) - released).toBe(1);
  });

  it('past the deadline: fails at once naming the step and when to retry, and asks no more', async () => {
    // Requests with a token (a new client's first one goes without, for the vault's 401 challenge).
    const asked = () => kv.stats.count('releaseKey') - kv.stats.count('releaseKey', 401);
    const before = asked();
    throttle(60);
    const started = Date.now();
    const r = await release(started + 10_000);
    kv.faults.plan = {};
    expect(r.slept).toEqual([]);
    expect(asked() - before).toBe(1); // the 429 only
    const err = (r as { error: AgentError }).error;
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ kind: 'deadline-exceeded', step: 'release', key: 'k' });
    expect(err.message).toMatch(/answered 429; it asks to be called again at \S+Z, after the deadline$/);
    const retryAt = Date.parse(/retry after (\S+)$/.exec(err.hint ?? '')![1]!);
    expect(retryAt - started).toBeGreaterThanOrEqual(59_000);
    expect(retryAt - started).toBeLessThanOrEqual(61_000);
  });
});
