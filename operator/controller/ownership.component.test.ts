import type { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_TAG, OWNER_TAG, OWNER_UID_TAG, ownerFromTags } from '../../core/ownership/index.ts';
import type { RunningVault } from '../../sim/vault/start.ts';
import type { World } from '../../test/support/sim/vault-world.ts';
import {
  ownedSecureKey,
  interceptVault,
  readTogether,
  reconcilerHarness,
  startOwnershipWorld,
  versionsOf as listVersions,
} from '../../test/support/ownership.ts';
import type { KeyVault } from '../vault/key-vault.ts';
import { FINALIZER } from '../kube/secure-key-api.ts';
import type { Vaults } from '../vault/vaults.ts';

/**
 * Key ownership over the real reconciler, the real KeyClient and the vault simulator: owner tags carry
 * the SecureKey's uid and the cluster, retained keys are not taken over, and racing creates of one
 * name end with one owner.
 */

const CLUSTER = 'cluster-uid-1';
let world: World;
let kv: RunningVault;
let vaults: Vaults;
let officer: KeyClient;

beforeAll(async () => {
  ({ world, kv, vaults, officer } = await startOwnershipWorld('hsm-owners'));
}, 60_000);
afterAll(() => world?.close());

const secureKey = (namespace: string, name: string, uid: string, keyName: string) =>
  ownedSecureKey(world, kv, { namespace, name, uid, keyName });
const harness = (
  sk: Parameters<typeof reconcilerHarness>[0],
  o: { cluster?: string; vault?: (v: KeyVault) => KeyVault } = {},
) => reconcilerHarness(sk, { vaults, cluster: o.cluster ?? CLUSTER, ...(o.vault ? { vault: o.vault } : {}) });
const versionsOf = (name: string) => listVersions(officer, name);

describe('key ownership', () => {
  it('tags a created key with namespace/name, uid and cluster', async () => {
    const h = harness(secureKey('shop', 'db', 'uid-shop-db', 'tagged-key'));
    await h.reconcile();
    expect(h.keyReady()).toMatchObject({ status: 'True' });
    const key = await officer.getKey('tagged-key');
    expect(key.properties.tags).toEqual({
      [OWNER_TAG]: 'shop/db',
      [OWNER_UID_TAG]: 'uid-shop-db',
      [CLUSTER_TAG]: CLUSTER,
    });
  });

  it('does not take over a retained key from a re-created SecureKey of the same name, nor from another cluster', async () => {
    const first = harness(secureKey('team', 'app', 'uid-first', 'retained-key'));
    await first.reconcile();
    expect(first.keyReady()).toMatchObject({ status: 'True' });
    const before = await officer.getKey('retained-key');

    // The namespace was deleted (deletionPolicy Retain) and re-created with the same names.
    const recreated = secureKey('team', 'app', 'uid-second', 'retained-key');
    recreated.spec.workloads = { allowedDigests: ['f'.repeat(64)] }; // would rewrite the release policy
    const second = harness(recreated);
    await second.reconcile();
    expect(second.keyReady()).toMatchObject({
      status: 'False',
      reason: 'KeyOwnedElsewhere',
      message: expect.stringContaining('securekey adopt --securekey team/app'),
    });
    // The same namespace/name and uid in a cluster that shares the vault.
    const elsewhere = harness(secureKey('team', 'app', 'uid-first', 'retained-key'), {
      cluster: 'cluster-2',
    });
    await elsewhere.reconcile();
    expect(elsewhere.keyReady()).toMatchObject({ status: 'False', reason: 'KeyOwnedElsewhere' });

    const after = await officer.getKey('retained-key');
    expect(after.properties.version).toBe(before.properties.version);
    expect(Buffer.from(after.properties.releasePolicy?.encodedPolicy ?? []).toString()).toBe(
      Buffer.from(before.properties.releasePolicy?.encodedPolicy ?? []).toString(),
    );
  });

  it('refuses a key tagged by an older operator (owner tag only) and says how to adopt it', async () => {
    await officer.createKey('legacy-key', 'oct-HSM', {
      keySize: 256,
      exportable: true,
      releasePolicy: world.policy(),
      tags: { [OWNER_TAG]: 'old/app' },
    });
    const h = harness(secureKey('old', 'app', 'uid-old-app', 'legacy-key'));
    await h.reconcile();
    expect(h.keyReady()).toMatchObject({
      status: 'False',
      reason: 'KeyOwnedElsewhere',
      message: expect.stringMatching(
        /tagged securekey\.io\/owner=old\/app without a uid or cluster.*securekey adopt --securekey old\/app/,
      ),
    });
    expect(h.events.some((e) => e.startsWith('Warning KeyOwnedElsewhere'))).toBe(true);
  });

  it('two SecureKeys racing to create one key name end with one owner; the other is refused and its version disabled', async () => {
    const together = readTogether(2);
    const a = harness(secureKey('team-a', 'k', 'uid-a', 'raced-key'), { vault: together });
    const b = harness(secureKey('team-b', 'k', 'uid-b', 'raced-key'), { vault: together });
    await Promise.all([a.reconcile(), b.reconcile()]);

    const versions = await versionsOf('raced-key');
    expect(versions).toHaveLength(2); // Key Vault's create on an existing name adds a version
    const ready = [a, b].filter((h) => h.keyReady()?.status === 'True');
    const refused = [a, b].filter((h) => h.keyReady()?.reason === 'KeyConflict');
    expect(ready).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const winner = ready[0]!;
    const loser = refused[0]!;
    const loserName = `${loser.sk.metadata?.namespace}/k`;
    expect(versions.filter((v) => v.owner?.secureKey === loserName).map((v) => v.enabled)).toEqual([false]);
    expect(loser.events.some((e) => e.startsWith('Warning KeyConflict'))).toBe(true);

    // Later reconciles: the winner is not confused by the loser's disabled version and ends on top with
    // an enabled version of its own; the loser stays refused.
    await winner.reconcile();
    await loser.reconcile();
    await winner.reconcile();
    const current = await officer.getKey('raced-key');
    expect(current.properties.enabled).toBe(true);
    expect(ownerFromTags(current.properties.tags)?.secureKey).toBe(`${winner.sk.metadata?.namespace}/k`);
    expect(winner.keyReady()).toMatchObject({ status: 'True', reason: 'KeyAvailable' });
    expect(winner.sk.status?.key?.version).toBe(current.properties.version);
    expect(loser.keyReady()).toMatchObject({ status: 'False', reason: 'KeyConflict' });
    const after = await versionsOf('raced-key');
    expect(after.filter((v) => v.enabled).every((v) => v.owner?.secureKey !== loserName)).toBe(true);
  });

  it('the later creator loses even with its version on top; the winner makes the top its own again', async () => {
    const together = readTogether(2);
    let firstMade!: () => void;
    const made = new Promise<void>((r) => (firstMade = r));
    // The vault's created times have one-second resolution: the second create comes a second later.
    const later = made.then(() => new Promise((r) => setTimeout(r, 1_100)));
    const first = harness(secureKey('early', 'k', 'uid-early', 'ordered-key'), {
      vault: (v) =>
        interceptVault(together(v), {
          createKey:
            (create) =>
            async (...args) => {
              const key = await create(...args);
              firstMade();
              return key;
            },
        }),
    });
    const second = harness(secureKey('late', 'k', 'uid-late', 'ordered-key'), {
      vault: (v) =>
        interceptVault(together(v), {
          createKey:
            (create) =>
            async (...args) => {
              await later;
              return create(...args);
            },
        }),
    });
    await Promise.all([first.reconcile(), second.reconcile()]);
    expect(second.keyReady()).toMatchObject({ status: 'False', reason: 'KeyConflict' });
    const top = await officer.getKey('ordered-key');
    expect([ownerFromTags(top.properties.tags)?.secureKey, top.properties.enabled]).toEqual([
      'late/k',
      false,
    ]);

    await first.reconcile(); // its 5 s look after creating
    const current = await officer.getKey('ordered-key');
    expect([ownerFromTags(current.properties.tags)?.secureKey, current.properties.enabled]).toEqual([
      'early/k',
      true,
    ]);
    expect(first.events.some((e) => /^Normal KeyRotated: .*lost the race for this name/.test(e))).toBe(true);
    expect(first.keyReady()).toMatchObject({ status: 'True' });
    expect(first.sk.status?.key?.version).toBe(current.properties.version);
    await second.reconcile();
    expect(second.keyReady()).toMatchObject({ status: 'False', reason: 'KeyConflict' });
    expect(await versionsOf('ordered-key')).toHaveLength(3);
  });

  it('deletionPolicy Delete leaves a key another SecureKey of the same name owns', async () => {
    const owner = harness(secureKey('del', 'app', 'uid-del-1', 'kept-key'));
    await owner.reconcile();
    const recreated = secureKey('del', 'app', 'uid-del-2', 'kept-key');
    recreated.spec.deletionPolicy = 'Delete';
    recreated.metadata = {
      ...recreated.metadata,
      finalizers: [FINALIZER],
      deletionTimestamp: new Date().toISOString(),
    };
    const h = harness(recreated);
    await h.reconcile();
    expect(h.events.some((e) => e.startsWith('Warning KeyNotDeleted'))).toBe(true);
    expect((await officer.getKey('kept-key')).properties.enabled).toBe(true);
  });
});
