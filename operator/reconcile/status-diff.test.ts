import { describe, expect, it } from 'vitest';
import type { SecureKeyStatus } from '../../core/api/securekey.generated.ts';
import { statusChanged } from './status-diff.ts';

const status: SecureKeyStatus = {
  observedGeneration: 2,
  conditions: [
    { type: 'KeyReady', status: 'True', reason: 'KeyFound', message: '', lastTransitionTime: 't0' },
    { type: 'PolicySynced', status: 'True', reason: 'PolicySynced', message: '', lastTransitionTime: 't0' },
  ],
  key: { id: 'kid', version: 'v1' },
  policy: {
    hash: 'h',
    digestCount: 1,
    digests: [{ digest: 'd', source: 'Pod', pod: 'ns/a', firstSeen: 't0' }],
  },
};

/** The same value with every object's members in reverse order. */
function reversed<T>(v: T): T {
  return JSON.parse(JSON.stringify(v), (_k, x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).reverse())
      : x,
  ) as T;
}

describe('statusChanged', () => {
  it('ignores member order, undefined members and condition order', () => {
    expect(statusChanged(status, reversed(status))).toBe(false);
    expect(statusChanged(status, { ...status, key: { ...status.key, createdAt: undefined } })).toBe(false);
    expect(statusChanged(status, { ...status, conditions: [...status.conditions!].reverse() })).toBe(false);
    expect(statusChanged(undefined, {})).toBe(false);
  });

  it('sees any real change', () => {
    expect(statusChanged(status, { ...status, observedGeneration: 3 })).toBe(true);
    expect(statusChanged(status, { ...status, key: { id: 'kid', version: 'v2' } })).toBe(true);
    const lastSeen = structuredClone(status);
    lastSeen.policy!.digests![0]!.lastSeen = 't1';
    expect(statusChanged(status, lastSeen)).toBe(true);
    const cond = structuredClone(status);
    cond.conditions![0]!.message = 'x';
    expect(statusChanged(status, cond)).toBe(true);
    expect(statusChanged(undefined, status)).toBe(true);
  });

  it('treats digest order as a change (desiredDigests sorts, so only real reorders differ)', () => {
    const two = structuredClone(status);
    two.policy!.digests = [
      { digest: 'a', source: 'Static', firstSeen: 't' },
      { digest: 'b', source: 'Static', firstSeen: 't' },
    ];
    const swapped = structuredClone(two);
    swapped.policy!.digests!.reverse();
    expect(statusChanged(two, swapped)).toBe(true);
  });
});
