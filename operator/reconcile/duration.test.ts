import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';
import { ReconcileError } from './errors.ts';

describe('parseDuration (SecureKey fields)', () => {
  it('reads the core grammar', () => {
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
  });

  it.each(['', '1d', '-1h', '0'])('refuses %j with bad-duration naming the field', (text) => {
    const err = (() => {
      try {
        parseDuration(text, 'spec.digestRetention');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ReconcileError);
    expect((err as ReconcileError).kind).toBe('bad-duration');
    expect((err as ReconcileError).message).toContain('spec.digestRetention');
  });

  it('refuses durations beyond safe integers', () => {
    expect(() => parseDuration('99999999999999999999h')).toThrow(/too long/);
  });
});
