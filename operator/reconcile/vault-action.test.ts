import { describe, expect, it } from 'vitest';
import { parsePolicyJson } from '../../core/policy/index.ts';
import { planReleasePolicy } from './release-policy-plan.ts';
import { digests, secureKey } from '../../test/support/reconcile.ts';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import type { KeyOwner, KeyVersionFacts, TaggedOwner } from '../../core/ownership/index.ts';
import {
  mustListVersions,
  planVaultAction as plan5,
  type ObservedKey,
  type VaultActionPlan,
} from './vault-action.ts';
import type { ReleasePolicyPlan } from './release-policy-plan.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const CLUSTER = 'cluster-1';
const withUid = (s: SecureKey, uid = 'uid-db-key'): SecureKey => ({ ...s, metadata: { ...s.metadata, uid } });
const sk = withUid(secureKey({ allowedDigests: digests(2) }));
const plan = planReleasePolicy(sk, digests(2));
if (!plan.ok) throw plan.error;
const ME: KeyOwner = { secureKey: 'shop/db-key', uid: 'uid-db-key', cluster: CLUSTER };
const planVaultAction = (
  s: SecureKey,
  k: ObservedKey | undefined,
  p: ReleasePolicyPlan,
  now: Date,
  owner: KeyOwner = { ...ME, uid: s.metadata?.uid ?? '' },
): VaultActionPlan => plan5(s, k, p, now, owner);

function key(over: Partial<ObservedKey> = {}): ObservedKey {
  return {
    version: 'v1',
    createdOn: new Date('2026-11-01T00:00:00Z'),
    exportable: true,
    policy: plan.ok ? plan.policy : undefined,
    owner: ME,
    ...over,
  };
}

describe('planVaultAction', () => {
  it('creates a missing key', () => {
    expect(planVaultAction(sk, undefined, plan, NOW)).toEqual({ action: { type: 'create' } });
  });

  it('does nothing when the vault already holds the desired policy (member order and spacing do not matter)', () => {
    const reordered = parsePolicyJson(JSON.stringify(JSON.parse(plan.json), null, 2));
    expect(planVaultAction(sk, key({ policy: reordered }), plan, NOW)).toEqual({ action: { type: 'none' } });
  });

  it('updates the policy when a digest differs, and when the vault has no readable policy', () => {
    const other = planReleasePolicy(sk, digests(3));
    if (!other.ok) throw other.error;
    expect(planVaultAction(sk, key({ policy: other.policy }), plan, NOW).action).toEqual({
      type: 'update-policy',
    });
    expect(planVaultAction(sk, key({ policy: undefined }), plan, NOW).action).toEqual({
      type: 'update-policy',
    });
  });

  it('refuses a key that exists but is not exportable, naming the key', () => {
    const { action } = planVaultAction(sk, key({ exportable: false }), plan, NOW);
    expect(action).toMatchObject({ type: 'refuse', reason: 'KeyNotExportable' });
    expect(action.type === 'refuse' && action.message).toContain('db-key');
  });

  it('does not create a key whose policy cannot be built, and leaves an existing key alone', () => {
    const bad = withUid(secureKey({}, { attestation: { authorities: ['http://not-https.example'] } }));
    const badPlan = planReleasePolicy(bad, []);
    expect(badPlan.ok).toBe(false);
    expect(planVaultAction(bad, undefined, badPlan, NOW).action).toMatchObject({
      type: 'refuse',
      reason: 'PolicyInvalid',
    });
    expect(planVaultAction(bad, key(), badPlan, NOW).action).toEqual({ type: 'none' });
  });

  it('rotates from the vault’s creation time (not status) and says when the next rotation is due', () => {
    const rotating = withUid(secureKey({ allowedDigests: digests(2) }, { rotation: { interval: '720h' } }));
    const young = key({ createdOn: new Date('2026-11-20T00:00:00Z') });
    expect(planVaultAction(rotating, young, plan, NOW)).toEqual({
      action: { type: 'none' },
      rotateAt: new Date('2026-12-20T00:00:00Z'),
    });
    const old = key({ createdOn: new Date('2026-10-01T00:00:00Z') });
    expect(planVaultAction(rotating, old, plan, NOW).action).toEqual({ type: 'rotate' });
  });

  it('never touches a key another SecureKey (or no SecureKey) created, whatever else is due', () => {
    const other: TaggedOwner = { secureKey: 'other-team/db-key', uid: 'uid-other', cluster: CLUSTER };
    const foreign = planVaultAction(sk, key({ owner: other, policy: undefined }), plan, NOW);
    expect(foreign.action).toEqual({
      type: 'refuse',
      reason: 'KeyOwnedElsewhere',
      message:
        'key db-key exists in the vault and belongs to SecureKey other-team/db-key (uid uid-other, cluster cluster-1); choose another spec.key.name',
    });
    const untagged = planVaultAction(
      sk,
      key({ owner: undefined, createdOn: new Date('2020-01-01') }),
      plan,
      NOW,
    );
    expect(untagged.action).toMatchObject({ type: 'refuse', reason: 'KeyOwnedElsewhere' });
    expect((untagged.action as { message: string }).message).toContain(
      'not created by a SecureKey; if it is meant for this SecureKey, a person with rights to update keys in the vault runs `securekey adopt --securekey shop/db-key`',
    );
  });
});

const v = (version: string, at: string, owner: TaggedOwner | undefined, enabled = true): KeyVersionFacts => ({
  version,
  createdOn: new Date(at),
  enabled,
  owner,
});

describe('planVaultAction: who owns the key', () => {
  const retained = (owner: TaggedOwner) =>
    planVaultAction(sk, key({ owner, versions: [v('v1', '2026-01-01T00:00:00Z', owner)] }), plan, NOW);

  it('refuses a retained key of an earlier SecureKey of the same name (re-created namespace) and says how to adopt', () => {
    const { action } = retained({ ...ME, uid: 'uid-of-the-deleted-one' });
    expect(action).toMatchObject({ type: 'refuse', reason: 'KeyOwnedElsewhere' });
    expect((action as { message: string }).message).toBe(
      'key db-key belongs to an earlier SecureKey of this name or one in another cluster (uid uid-of-the-deleted-one, cluster cluster-1; this one is uid uid-db-key in cluster cluster-1); it is not taken over automatically: if it is meant for this SecureKey, a person with rights to update keys in the vault runs `securekey adopt --securekey shop/db-key`',
    );
  });

  it('refuses a key made for the same namespace/name and uid in another cluster sharing the vault', () => {
    expect(retained({ ...ME, cluster: 'cluster-2' }).action).toMatchObject({
      type: 'refuse',
      reason: 'KeyOwnedElsewhere',
      message: expect.stringContaining('cluster cluster-2; this one is uid uid-db-key in cluster cluster-1'),
    });
  });

  it('does not silently adopt a key tagged by an older operator (owner tag only)', () => {
    const { action } = retained({ secureKey: 'shop/db-key' });
    expect(action).toMatchObject({ type: 'refuse', reason: 'KeyOwnedElsewhere' });
    expect((action as { message: string }).message).toContain(
      'is tagged securekey.io/owner=shop/db-key without a uid or cluster (an older operator)',
    );
    expect((action as { message: string }).message).toContain('securekey adopt --securekey shop/db-key');
  });

  it('decides by the earliest tagged version: the SecureKey whose version came later lost the race and disables its own', () => {
    const other: TaggedOwner = { secureKey: 'other-team/db-key', uid: 'uid-other', cluster: CLUSTER };
    const versions = [
      v('b-mine', '2026-11-22T11:00:01Z', ME),
      v('a-theirs', '2026-11-22T11:00:00Z', other),
      v('untagged-older', '2026-11-01T00:00:00Z', undefined),
    ];
    const { action } = planVaultAction(sk, key({ version: 'b-mine', versions }), plan, NOW);
    expect(action).toMatchObject({ type: 'refuse', reason: 'KeyConflict', disable: ['b-mine'] });
    expect((action as { message: string }).message).toContain(
      'created at the same time for SecureKey other-team/db-key (uid uid-other, cluster cluster-1)',
    );
    // Once disabled, it stays refused and disables nothing more.
    const after = versions.map((x) => (x.version === 'b-mine' ? { ...x, enabled: false } : x));
    expect(planVaultAction(sk, key({ version: 'b-mine', versions: after }), plan, NOW).action).toEqual({
      type: 'refuse',
      reason: 'KeyConflict',
      message: (action as { message: string }).message,
    });
  });

  it('breaks a tie in created time by version id, so both sides agree', () => {
    const other: TaggedOwner = { secureKey: 'other-team/db-key', uid: 'uid-other', cluster: CLUSTER };
    const at = '2026-11-22T11:00:00Z';
    const versions = [v('f00', at, ME), v('0ff', at, other)];
    expect(planVaultAction(sk, key({ version: 'f00', versions }), plan, NOW).action).toMatchObject({
      reason: 'KeyConflict',
    });
    const theirs = withUid(secureKey({ allowedDigests: digests(2) }), 'uid-other');
    const theirOwner: KeyOwner = { secureKey: 'other-team/db-key', uid: 'uid-other', cluster: CLUSTER };
    expect(
      plan5(theirs, key({ version: 'f00', owner: ME, versions }), plan, NOW, theirOwner).action.type,
    ).not.toBe('refuse');
  });

  it('the winner is not confused by the loser’s version on top: it makes a new version of its own', () => {
    const other: TaggedOwner = { secureKey: 'other-team/db-key', uid: 'uid-other', cluster: CLUSTER };
    const versions = [
      v('a-mine', '2026-11-22T11:00:00Z', ME),
      v('b-theirs', '2026-11-22T11:00:01Z', other, false),
    ];
    const { action } = planVaultAction(sk, key({ version: 'b-theirs', owner: other, versions }), plan, NOW);
    expect(action).toEqual({
      type: 'rotate',
      reclaim:
        'the current version b-theirs was made for SecureKey other-team/db-key (uid uid-other, cluster cluster-1), which lost the race for this name',
    });
  });

  it('owns a key whose versions it made, and one a person adopted for it', () => {
    const versions = [v('v0', '2026-01-01T00:00:00Z', ME), v('v1', '2026-11-01T00:00:00Z', ME)];
    expect(planVaultAction(sk, key({ versions }), plan, NOW).action).toEqual({ type: 'none' });
  });

  it('lists versions unless the current version is tagged for it and status records it ready', () => {
    const ready = {
      ...sk,
      status: {
        key: { id: 'x', version: 'v1' },
        conditions: [
          {
            type: 'KeyReady',
            status: 'True' as const,
            reason: 'KeyAvailable',
            message: '',
            lastTransitionTime: '2026-11-01T00:00:00Z',
          },
        ],
      },
    };
    expect(mustListVersions(ready, key(), ME)).toBe(false);
    expect(mustListVersions(sk, key(), ME)).toBe(true); // never listed (just created, or an older status)
    expect(mustListVersions(ready, key({ version: 'v2' }), ME)).toBe(true); // a version made since
    expect(mustListVersions(ready, key({ owner: { ...ME, uid: 'x' } }), ME)).toBe(true);
    expect(mustListVersions(ready, key({ owner: { secureKey: ME.secureKey } }), ME)).toBe(true);
  });
});
