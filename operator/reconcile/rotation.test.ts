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

  it('rotates once on request: a version created before requestedAt, once that moment has come', () => {
    const requestedAt = '2026-11-15T00:00:00.000Z';
    const asked = new Date(requestedAt);
    expect(rotationDue({ requestedAt }, created, asked)).toEqual({ due: true, at: asked });
    expect(rotationDue({ requestedAt }, created, new Date(asked.getTime() - 1))).toEqual({
      due: false,
      at: asked,
    });
    // The version the request made (or any later one) is not rotated again.
    expect(rotationDue({ requestedAt }, requestedAt, due)).toEqual({ due: false });
    expect(rotationDue({ requestedAt }, '2026-11-16T00:00:00.000Z', due)).toEqual({ due: false });
    // A request between seconds is served at the next one; the vault stamps whole seconds, on its own
    // clock, so a version within 2 s before that answers it.
    const between = rotationDue({ requestedAt: '2026-11-15T00:00:00.600Z' }, created, due);
    expect(between).toEqual({ due: true, at: new Date('2026-11-15T00:00:01.000Z') });
    expect(rotationDue({ requestedAt: '2026-11-15T00:00:00.600Z' }, requestedAt, due)).toEqual({
      due: false,
    });
    expect(rotationDue({ requestedAt }, '2026-11-14T23:59:58.000Z', due)).toEqual({ due: false });
    expect(rotationDue({ requestedAt }, '2026-11-14T23:59:57.000Z', due)).toEqual({ due: true, at: asked });
  });

  it('with an interval too, is due at whichever comes first', () => {
    const early = '2026-11-10T00:00:00.000Z';
    expect(rotationDue({ interval: '720h', requestedAt: early }, created, new Date(early))).toEqual({
      due: true,
      at: new Date(early),
    });
    // A request older than the version leaves the interval in charge.
    expect(rotationDue({ interval: '720h', requestedAt: '2026-10-01T00:00:00Z' }, created, due)).toEqual({
      due: true,
      at: due,
    });
    const late = '2026-12-24T00:00:00.000Z';
    expect(rotationDue({ interval: '720h', requestedAt: late }, created, new Date(created))).toEqual({
      due: false,
      at: due,
    });
  });

  it('refuses an unreadable requestedAt', () => {
    expect(() => rotationDue({ requestedAt: 'soon' }, created, due)).toThrow(
      'spec.rotation.requestedAt "soon" is not a date',
    );
  });
});
