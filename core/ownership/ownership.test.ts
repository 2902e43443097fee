import { describe, expect, it } from 'vitest';
import type { SecureKey } from '../api/securekey.generated.ts';
import { isErrorOf } from '../errors.ts';
import {
  decidingVersion,
  isOwner,
  keyOwnerOf,
  OwnershipError,
  ownerFromTags,
  withOwnerTags,
  type KeyVersionFacts,
} from './index.ts';

const sk = (uid?: string): SecureKey =>
  ({
    metadata: { namespace: 'shop', name: 'db', ...(uid ? { uid } : {}) },
    spec: {},
  }) as unknown as SecureKey;
const ME = { secureKey: 'shop/db', uid: 'u1', cluster: 'c1' };

describe('key ownership', () => {
  it('tags a version with namespace/name, uid and cluster, keeping other tags', () => {
    expect(withOwnerTags({ team: 'pay', 'securekey.io/owner': 'old/x' }, keyOwnerOf(sk('u1'), 'c1'))).toEqual(
      {
        team: 'pay',
        'securekey.io/owner': 'shop/db',
        'securekey.io/owner-uid': 'u1',
        'securekey.io/cluster': 'c1',
      },
    );
  });

  it('cannot form an owner without a uid or a cluster', () => {
    expect(() => keyOwnerOf(sk(), 'c1')).toThrow(OwnershipError);
    try {
      keyOwnerOf(sk('u1'), '');
    } catch (err) {
      expect(isErrorOf(err, OwnershipError, 'no-cluster')).toBe(true);
    }
  });

  it('is the owner only when namespace/name, uid and cluster all match', () => {
    const tags = withOwnerTags({}, ME);
    expect(isOwner(ownerFromTags(tags), ME)).toBe(true);
    expect(isOwner(ownerFromTags({ ...tags, 'securekey.io/owner-uid': 'u2' }), ME)).toBe(false);
    expect(isOwner(ownerFromTags({ ...tags, 'securekey.io/cluster': 'c2' }), ME)).toBe(false);
    expect(isOwner(ownerFromTags({ 'securekey.io/owner': 'shop/db' }), ME)).toBe(false);
    expect(isOwner(ownerFromTags({}), ME)).toBe(false);
    expect(ownerFromTags({ other: 'x' })).toBeUndefined();
  });

  it('lets the earliest tagged version decide, disabled or not, ties by version id', () => {
    const at = (s: string) => new Date(`2026-11-22T11:00:0${s}Z`);
    const v = (version: string, t: string, owner?: string, enabled = true): KeyVersionFacts => ({
      version,
      createdOn: at(t),
      enabled,
      owner: owner === undefined ? undefined : { secureKey: owner },
    });
    expect(decidingVersion([v('c', '3', 'b/x'), v('d', '1'), v('e', '2', 'a/x', false)])?.version).toBe('e');
    expect(decidingVersion([v('z', '1', 'b/x'), v('a', '1', 'a/x')])?.version).toBe('a');
    expect(decidingVersion([v('z', '1'), v('a', '2')])).toBeUndefined();
    expect(decidingVersion([])).toBeUndefined();
  });
});
