import { describe, expect, it } from 'vitest';
import { afterRelease, nextRelease, ROTATION_GRACE_MS, ROTATION_SPREAD_MS } from './refresh-schedule.ts';

const H = 3_600_000;

describe('nextRelease', () => {
  it('without a rotation interval: after refreshMs, spread over its last tenth', () => {
    const seen = { releasedAt: 1_000, lateChecks: 0 };
    expect(nextRelease(seen, { refreshMs: 6 * H, random: () => 0 })).toBe(1_000 + 6 * H);
    expect(nextRelease(seen, { refreshMs: 6 * H, random: () => 0.5 })).toBe(1_000 + 6 * H * 0.95);
  });

  it('with one: after the due time, a grace and a spread, unless refreshMs comes first', () => {
    const seen = { releasedAt: 10 * 60_000, createdAt: 0, lateChecks: 0 };
    const o = { refreshMs: 6 * H, rotationMs: H };
    expect(nextRelease(seen, { ...o, random: () => 0 })).toBe(H + ROTATION_GRACE_MS);
    expect(nextRelease(seen, { ...o, random: () => 0.999 })).toBeCloseTo(
      H + ROTATION_GRACE_MS + 0.999 * ROTATION_SPREAD_MS,
    );
    expect(nextRelease(seen, { refreshMs: 30 * 60_000, rotationMs: H, random: () => 0 })).toBe(40 * 60_000);
  });

  it('backs off, doubling, while the due version has not come', () => {
    const o = { refreshMs: 6 * H, rotationMs: H, random: () => 0 };
    const at = H + 2 * 60_000;
    expect(nextRelease({ releasedAt: at, createdAt: 0, lateChecks: 1 }, o)).toBe(at + 2 * ROTATION_GRACE_MS);
    expect(nextRelease({ releasedAt: at, createdAt: 0, lateChecks: 3 }, o)).toBe(at + 8 * ROTATION_GRACE_MS);
    // A pod that starts after the due time does not release in a loop.
    expect(nextRelease({ releasedAt: 5 * H, createdAt: 0, lateChecks: 0 }, o)).toBe(
      5 * H + ROTATION_GRACE_MS,
    );
  });
});

describe('afterRelease', () => {
  it('counts late checks only when the same version comes back after its due time', () => {
    const first = afterRelease(undefined, { kid: 'v1', createdAt: 0, at: 10 }, H);
    expect(first).toEqual({ kid: 'v1', releasedAt: 10, createdAt: 0, lateChecks: 0 });
    const early = afterRelease(first, { kid: 'v1', createdAt: 0, at: H - 1 }, H);
    expect(early.lateChecks).toBe(0);
    const late = afterRelease(first, { kid: 'v1', createdAt: 0, at: H + 60_000 }, H);
    expect(late.lateChecks).toBe(1);
    expect(afterRelease(late, { kid: 'v1', createdAt: 0, at: H + 180_000 }, H).lateChecks).toBe(2);
    expect(afterRelease(late, { kid: 'v2', createdAt: H + 5, at: H + 180_000 }, H).lateChecks).toBe(0);
  });
});
