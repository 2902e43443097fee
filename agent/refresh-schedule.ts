/**
 * When a native sidecar releases a key again (ADR 51). Not on a short fixed interval — that is one
 * vault release per pod per interval, the pattern that throttles vaults — but when a new version can
 * exist:
 *
 *  - the key's rotation is due: the version's creation time (from the release) plus the SecureKey's
 *    rotation interval (measured into the pod at injection), a grace for the operator to make the new
 *    version, and a spread so a thousand pods do not ask in the same second; a release that still finds
 *    the old version (the operator is late) is tried again after a doubling backoff;
 *  - otherwise after `refreshMs` (a rotation made outside the schedule), jittered over its last tenth.
 *
 * Pure: the caller gives the clock's reading and the random numbers.
 */

/** After a rotation is due, the operator's time to make the new version before the first check. */
export const ROTATION_GRACE_MS = 60_000;
/** The first checks after a rotation are spread evenly over this long after the grace. */
export const ROTATION_SPREAD_MS = 5 * 60_000;

export interface ReleaseSeen {
  /** When the key was last released (epoch ms). */
  releasedAt: number;
  /** The released version's creation time, when the vault said. */
  createdAt?: number;
  /** Releases in a row that found the same version although its rotation was due. */
  lateChecks: number;
}

export interface ScheduleOptions {
  refreshMs: number;
  /** The key's rotation interval; none: only `refreshMs`. */
  rotationMs?: number;
  /** In [0, 1). */
  random: () => number;
}

/** Epoch ms of the key's next release. */
export function nextRelease(seen: ReleaseSeen, o: ScheduleOptions): number {
  const safety = seen.releasedAt + o.refreshMs * (1 - 0.1 * o.random());
  if (o.rotationMs === undefined || seen.createdAt === undefined) return safety;
  const due = seen.createdAt + o.rotationMs;
  const first = due + ROTATION_GRACE_MS + ROTATION_SPREAD_MS * o.random();
  // Past due already (a late operator, or a pod started after the due time): back off from now on.
  const again = seen.releasedAt + ROTATION_GRACE_MS * 2 ** seen.lateChecks * (1 + 0.25 * o.random());
  return Math.min(safety, Math.max(first, again));
}

/** The key's record after a release of version `kid` created at `createdAt`. */
export function afterRelease(
  before: (ReleaseSeen & { kid: string }) | undefined,
  release: { kid: string; createdAt?: number; at: number },
  rotationMs: number | undefined,
): ReleaseSeen & { kid: string } {
  const overdue =
    before !== undefined &&
    before.kid === release.kid &&
    rotationMs !== undefined &&
    before.createdAt !== undefined &&
    release.at >= before.createdAt + rotationMs;
  return {
    kid: release.kid,
    releasedAt: release.at,
    ...(release.createdAt === undefined ? {} : { createdAt: release.createdAt }),
    lateChecks: overdue ? before.lateChecks + 1 : 0,
  };
}
