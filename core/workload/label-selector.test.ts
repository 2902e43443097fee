import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../api/securekey.generated.ts';
import { isErrorOf } from '../errors.ts';
import { WorkloadError } from './errors.ts';
import { selectorMatches } from './label-selector.ts';

const labels = { app: 'web', tier: 'front', empty: '' };

describe('selectorMatches', () => {
  it('an absent or empty selector matches everything, even no labels', () => {
    expect(selectorMatches(undefined, labels)).toBe(true);
    expect(selectorMatches({}, undefined)).toBe(true);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, {})).toBe(true);
  });

  it('matchLabels needs every pair, values compared exactly', () => {
    expect(selectorMatches({ matchLabels: { app: 'web', tier: 'front' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web', tier: 'back' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: 'Web' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { missing: '' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { empty: '' } }, labels)).toBe(true);
  });

  it('In needs the key present with a listed value', () => {
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, labels),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, labels),
    ).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, labels),
    ).toBe(false);
  });

  it('NotIn holds when the key is absent or its value unlisted', () => {
    const sel = (key: string): LabelSelector => ({
      matchExpressions: [{ key, operator: 'NotIn', values: ['web'] }],
    });
    expect(selectorMatches(sel('zone'), labels)).toBe(true);
    expect(selectorMatches(sel('tier'), labels)).toBe(true);
    expect(selectorMatches(sel('app'), labels)).toBe(false);
    expect(selectorMatches(sel('app'), undefined)).toBe(true);
  });

  it('Exists and DoesNotExist look at the key only (an empty value exists)', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels)).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).toBe(
      false,
    );
  });

  it('labels and expressions are ANDed', () => {
    const sel: LabelSelector = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }],
    };
    expect(selectorMatches(sel, labels)).toBe(false);
    expect(selectorMatches(sel, { app: 'web', tier: 'back' })).toBe(true);
  });

  it('does not treat inherited properties as labels', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, {}),
    ).toBe(true);
  });

  it.each<LabelSelector>([
    { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] },
    { matchExpressions: [{ key: 'app', operator: 'NotIn' }] },
    { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] },
    { matchExpressions: [{ key: 'app', operator: 'Gt' as 'In', values: ['1'] }] },
  ])('refuses selectors the API server refuses: %j', (sel) => {
    try {
      selectorMatches(sel, labels);
      expect.unreachable();
    } catch (err) {
      expect(isErrorOf(err, WorkloadError, 'bad-selector')).toBe(true);
      expect((err as Error).message).toContain('matchExpressions[0]');
    }
  });
});
