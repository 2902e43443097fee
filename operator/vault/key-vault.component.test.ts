import type { TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, type World } from '../../test/support/sim/vault-world.ts';
import { VaultCallError } from './errors.ts';
import { SIMULATED_VAULT_SUFFIXES, Vaults } from './vaults.ts';

const BOUND_MS = 300;
let world: World;

beforeAll(async () => {
  world = await startWorld();
}, 60_000);
afterAll(() => world?.close());

describe('KeyVault call deadline', () => {
  it('fails a call to a vault that never answers with a timeout within the bound', async () => {
    const kv = await world.startVault({ name: 'kv-silent' });
    const outcomes: string[] = [];
    const vaults = new Vaults({
      credential: world.credential('officer'),
      caPem: world.ca.certPem,
      allowedSuffixes: SIMULATED_VAULT_SUFFIXES,
      callTimeoutMs: BOUND_MS,
      observe: (_op, outcome) => outcomes.push(outcome),
    });
    const vault = vaults.get(kv.url);
    expect(await vault.getKey('k1')).toBeUndefined(); // answers while the vault does
    kv.faults.plan = { latencyMs: 60_000 };
    const started = Date.now();
    const call = vault.getKey('k1');
    await expect(call).rejects.toThrow(VaultCallError);
    expect(Date.now() - started).toBeLessThan(BOUND_MS + 1_000);
    await expect(call).rejects.toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/reading key k1 at https:\/\/.*: no answer within 0\.3s/),
    });
    expect(outcomes).toEqual(['404', 'timeout']);
    kv.faults.plan = {};
  });

  it('bounds the token request too: an Entra that never answers times the call out', async () => {
    const kv = await world.startVault({ name: 'kv-no-token' });
    // Hangs and ignores the abort signal, as a stuck token request in any credential could.
    const silentEntra: TokenCredential = { getToken: () => new Promise(() => {}) };
    const vaults = new Vaults({
      credential: silentEntra,
      caPem: world.ca.certPem,
      allowedSuffixes: SIMULATED_VAULT_SUFFIXES,
      callTimeoutMs: BOUND_MS,
    });
    const started = Date.now();
    const call = vaults
      .get(kv.url)
      .createKey({ name: 'k2', type: 'oct-HSM' }, '{}', { secureKey: 'ns/o', uid: 'u', cluster: 'c' });
    await expect(call).rejects.toThrow(VaultCallError);
    expect(Date.now() - started).toBeLessThan(BOUND_MS + 1_000);
    await expect(call).rejects.toMatchObject({ kind: 'timeout' });
  });
});
