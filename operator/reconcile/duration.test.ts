import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.ts';
import { ReconcileError } from './errors.ts';

describe('parseDuration', () => {
  it.each([
    ['24h', 24 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['90m', 90 * 60_000],
    ['1.5h', 90 * 60_000],
    ['45s', 45_000],
    ['250ms', 250],
    ['1m1ms', 60_001],
    ['2h0.5m10s', 2 * 3_600_000 + 30_000 + 10_000],
    ['720h', 720 * 3_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '24', 'h', '1d', '-1h', '+1h', '1.h', '.5h', '1h ', ' 1h', '1H', '0', '1us', '1ns', '1h-30m'])(
    'refuses %j with bad-duration naming the field',
    (text) => {
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
    },
  );

  it('refuses durations beyond safe integers', () => {
    expect(() => parseDuration('99999999999999999999h')).toThrow(/too long/);
  });
});
