/**
 * When to reconcile a SecureKey again: at the earliest of the resync and the moments something falls due
 * (a retained digest expiring, a rotation). Bounded on both sides whatever those moments are: a moment
 * past what a Date holds (a huge digestRetention or rotation.interval) is NaN and is ignored rather than
 * turned into a 1 ms timer, and one already past waits a second, so a due action that cannot happen yet
 * (an invalid spec) never spins the work queue.
 */

/** The shortest wait between reconciles of one SecureKey that nothing else wakes. */
export const MIN_REQUEUE_MS = 1_000;

/** Milliseconds until the next reconcile: within [MIN_REQUEUE_MS, resyncMs]. */
export function requeueAfterMs(now: Date, resyncMs: number, due: ReadonlyArray<Date | undefined>): number {
  let wait = resyncMs;
  for (const at of due) {
    const ms = at === undefined ? NaN : at.getTime() - now.getTime();
    if (Number.isFinite(ms)) wait = Math.min(wait, ms);
  }
  return Math.max(MIN_REQUEUE_MS, wait);
}
