/**
 * A de-duplicating, rate-limited work queue of SecureKey keys ("namespace/name"), after client-go's:
 *
 * - a key is queued at most once; adding a key that is being processed marks it dirty, and it is
 *   queued again once when `done` is called — never processed by two workers at once;
 * - `addRateLimited` waits max(per-key exponential backoff, global token bucket), like client-go's
 *   MaxOfRateLimiter; `forget` resets a key's backoff after a success;
 * - `addAfter` defers (requeueAfter); of several deferrals the earliest wins.
 *
 * Level-triggered: the queue carries names, never events; the reconciler reads the latest state.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's longest timer (about 24.8 days): it fires a longer or NaN delay after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    // Firing early only costs a reconcile; Node's 1 ms would spin. `!(ms <= max)` also catches NaN.
    const t = setTimeout(fn, !(ms <= MAX_TIMER_MS) ? MAX_TIMER_MS : ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  /** First retry delay; doubles per consecutive failure. Default 1 s. */
  baseDelayMs?: number;
  /** Backoff cap. Default 5 min. */
  maxDelayMs?: number;
  /** Global rate of rate-limited adds. Default 10/s with a burst of 100. */
  ratePerSecond?: number;
  burst?: number;
  clock?: Clock;
}

export class WorkQueue {
  private readonly clock: Clock;
  private readonly base: number;
  private readonly max: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private readonly failureCount = new Map<string, number>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly idle: Array<() => void> = [];
  private tokens: number;
  private tokensAt: number;
  private closed = false;

  constructor(o: WorkQueueOptions = {}) {
    this.clock = o.clock ?? systemClock;
    this.base = o.baseDelayMs ?? 1000;
    this.max = o.maxDelayMs ?? 300_000;
    this.rate = o.ratePerSecond ?? 10;
    this.burst = o.burst ?? 100;
    this.tokens = this.burst;
    this.tokensAt = this.clock.now();
  }

  add(key: string): void {
    if (this.closed) return;
    this.cancelTimer(key);
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queued.delete(key);
      this.active.add(key);
      waiter(key);
    } else {
      this.ready.push(key);
    }
  }

  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) return this.add(key);
    if (this.queued.has(key)) return;
    const at = this.clock.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, handle });
  }

  /** Re-adds after max(this key's backoff, the global bucket's wait), and at least `minDelayMs`. */
  addRateLimited(key: string, minDelayMs = 0): void {
    const failures = this.failureCount.get(key) ?? 0;
    this.failureCount.set(key, failures + 1);
    const backoff = Math.min(this.max, this.base * 2 ** Math.min(failures, 30));
    this.forceAfter(key, Math.max(backoff, this.reserveToken(), minDelayMs));
  }

  forget(key: string): void {
    this.failureCount.delete(key);
  }

  failures(key: string): number {
    return this.failureCount.get(key) ?? 0;
  }

  /** The next key to process; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const key = this.ready.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.active.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.active.delete(key);
    if (this.dirty.delete(key)) this.add(key);
    if (this.active.size === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  shutDown(): void {
    this.closed = true;
    for (const { handle } of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
    this.ready.length = 0;
    this.queued.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  /** Resolves when no key is being processed. */
  drain(): Promise<void> {
    return this.active.size === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }

  get length(): number {
    return this.ready.length;
  }

  get processing(): number {
    return this.active.size;
  }

  get deferred(): number {
    return this.timers.size;
  }

  /** Unlike addAfter, replaces any earlier deferral: a backoff must not be cut short by a resync. */
  private forceAfter(key: string, ms: number): void {
    if (this.closed) return;
    this.cancelTimer(key);
    if (this.queued.has(key)) {
      this.queued.delete(key);
      const i = this.ready.indexOf(key);
      if (i >= 0) this.ready.splice(i, 1);
    }
    this.dirty.delete(key);
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at: this.clock.now() + ms, handle });
  }

  private cancelTimer(key: string): void {
    const pending = this.timers.get(key);
    if (pending) {
      this.clock.clearTimeout(pending.handle);
      this.timers.delete(key);
    }
  }

  /** golang.org/x/time/rate-style reservation: ms until this reservation's token exists. */
  private reserveToken(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }
}

/**
 * `concurrency` loops of get → handler → done. A rejected handler never kills a loop (the caller's
 * handler does its own error handling; `onError` sees what escapes). Resolves after shutDown, once
 * every loop has finished its current key.
 */
export async function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  handler: (key: string) => Promise<void>,
  onError?: (key: string, err: unknown) => void,
): Promise<void> {
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await handler(key);
      } catch (err) {
        onError?.(key, err);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}
