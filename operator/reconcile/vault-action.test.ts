import { describe, expect, it } from 'vitest';
import { parsePolicyJson } from '../../core/policy/index.ts';
import { planReleasePolicy } from './release-policy-plan.ts';
import { digests, secureKey } from '../../test/support/reconcile.ts';
import { planVaultAction, type ObservedKey } from './vault-action.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const sk = secureKey({ allowedDigests: digests(2) });
const plan = planReleasePolicy(sk, digests(2));
if (!plan.ok) throw plan.error;

function key(over: Partial<ObservedKey> = {}): ObservedKey {
  return {
    version: 'v1',
    createdOn: new Date('2026-11-01T00:00:00Z'),
    exportable: true,
    policy: plan.ok ? plan.policy : undefined,
    owner: 'shop/db-key',
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
    const bad = secureKey({}, { attestation: { authorities: ['http://not-https.example'] } });
    const badPlan = planReleasePolicy(bad, []);
    expect(badPlan.ok).toBe(false);
    expect(planVaultAction(bad, undefined, badPlan, NOW).action).toMatchObject({
      type: 'refuse',
      reason: 'PolicyInvalid',
    });
    expect(planVaultAction(bad, key(), badPlan, NOW).action).toEqual({ type: 'none' });
  });

  it('rotates from the vault’s creation time (not status) and says when the next rotation is due', () => {
    const rotating = secureKey({ allowedDigests: digests(2) }, { rotation: { interval: '720h' } });
    const young = key({ createdOn: new Date('2026-11-20T00:00:00Z') });
    expect(planVaultAction(rotating, young, plan, NOW)).toEqual({
      action: { type: 'none' },
      rotateAt: new Date('2026-12-20T00:00:00Z'),
    });
    const old = key({ createdOn: new Date('2026-10-01T00:00:00Z') });
    expect(planVaultAction(rotating, old, plan, NOW).action).toEqual({ type: 'rotate' });
  });

  it('never touches a key another SecureKey (or no SecureKey) created, whatever else is due', () => {
    const foreign = planVaultAction(sk, key({ owner: 'other-team/db-key', policy: undefined }), plan, NOW);
    expect(foreign.action).toEqual({
      type: 'refuse',
      reason: 'KeyOwnedElsewhere',
      message:
        'key db-key exists in the vault and belongs to SecureKey other-team/db-key; choose another spec.key.name',
    });
    const untagged = planVaultAction(
      sk,
      key({ owner: undefined, createdOn: new Date('2020-01-01') }),
      plan,
      NOW,
    );
    expect(untagged.action).toMatchObject({ type: 'refuse', reason: 'KeyOwnedElsewhere' });
    expect((untagged.action as { message: string }).message).toContain(
      'tag it securekey.io/owner=shop/db-key',
    );
  });
});
