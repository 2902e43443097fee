import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../../core/errors.ts';
import { ReconcileError } from './errors.ts';
import { rotationDue } from './rotation.ts';

const created = '2026-11-01T00:00:00.000Z';
const due = new Date('2026-12-01T00:00:00.000Z'); // created + 720h

describe('rotationDue', () => {
  it('is never due without rotation or a known creation time', () => {
    expect(rotationDue(undefined, created, due)).toEqual({ due: false });
    expect(rotationDue({ interval: '720h' }, undefined, due)).toEqual({ due: false });
  });

  it('is due from createdAt + interval on, not a millisecond before', () => {
    expect(rotationDue({ interval: '720h' }, created, new Date(due.getTime() - 1))).toEqual({
      due: false,
      at: due,
    });
    expect(rotationDue({ interval: '720h' }, created, due)).toEqual({ due: true, at: due });
    expect(rotationDue({ interval: '720h' }, new Date(created), new Date(due.getTime() + 1)).due).toBe(true);
  });

  it('refuses intervals under 1h and unreadable creation times', () => {
    const kindOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isErrorOf(err, ReconcileError) ? err.kind : 'other';
      }
      return 'none';
    };
    expect(kindOf(() => rotationDue({ interval: '59m' }, created, due))).toBe('bad-duration');
    expect(kindOf(() => rotationDue({ interval: 'monthly' }, created, due))).toBe('bad-duration');
    expect(kindOf(() => rotationDue({ interval: '1h' }, 'last week', due))).toBe('bad-timestamp');
    expect(kindOf(() => rotationDue({ interval: '1h' }, created, due))).toBe('none');
  });
});
