import { describe, expect, it } from 'vitest';
import { desiredDigests } from '../reconcile/desired-digests.ts';
import { DEFAULT_POD_ADMISSION } from '../../core/workload/pod-admission.ts';
import { rotationDue } from '../reconcile/rotation.ts';
import { secureKey } from '../../test/support/reconcile.ts';
import { MIN_REQUEUE_MS, requeueAfterMs } from './requeue.ts';

const now = new Date('2026-01-01T00:00:00Z');
const RESYNC = 600_000;
const DIGEST = 'a'.repeat(64);

describe('requeueAfterMs', () => {
  it('waits until the earliest due moment, but no longer than the resync', () => {
    const soon = new Date(now.getTime() + 30_000);
    const later = new Date(now.getTime() + 90_000);
    expect(requeueAfterMs(now, RESYNC, [later, soon, undefined])).toBe(30_000);
    expect(requeueAfterMs(now, RESYNC, [new Date(now.getTime() + 86_400_000)])).toBe(RESYNC);
  });

  it('waits at least a second for a moment already past (a rotation that cannot happen yet)', () => {
    expect(requeueAfterMs(now, RESYNC, [new Date(now.getTime() - 5_000)])).toBe(MIN_REQUEUE_MS);
    expect(requeueAfterMs(now, RESYNC, [now])).toBe(MIN_REQUEUE_MS);
  });

  it('ignores a moment beyond what a Date holds: a huge digestRetention resyncs, never spins', () => {
    // The CRD refuses this (at most 720h); an older CRD or a direct etcd write does not.
    const sk = secureKey({}, { digestRetention: '2500000000h' });
    const desired = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [],
      previous: [
        { digest: DIGEST, source: 'Pod', firstSeen: now.toISOString(), lastSeen: now.toISOString() },
      ],
      now,
    });
    expect(desired.digests.map((d) => d.digest)).toEqual([DIGEST]);
    expect(Number.isNaN(desired.nextExpiry?.getTime())).toBe(true);
    expect(requeueAfterMs(now, RESYNC, [desired.nextExpiry])).toBe(RESYNC);
  });

  it('ignores a rotation beyond what a Date holds', () => {
    const due = rotationDue({ interval: '2500000000h' }, now, now);
    expect(requeueAfterMs(now, RESYNC, [due.at])).toBe(RESYNC);
  });
});
