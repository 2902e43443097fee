/**
 * A simulated clock for long-running agents (sidecars over an hour in seconds of real time). Each
 * actor (a sidecar's loop) is either busy — its round talks to the simulators in real time — or asleep
 * on this clock. `runUntil` wakes the sleepers in time order, and only moves the time on once every
 * woken actor is asleep again, so a round never sees the clock jump under it.
 */
import type { SidecarClock } from '../../../agent/sidecar.ts';

interface Timer {
  at: number;
  wake: () => void;
}

export class SimulatedClock implements SidecarClock {
  private t: number;
  private timers: Timer[] = [];
  private busy = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(start: number) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  /** Moves the time forward (never back) while nothing sleeps past it. */
  set(t: number): void {
    this.t = Math.max(this.t, t);
  }

  /** An actor that starts busy (a sidecar whose first round starts at once). */
  enter(): void {
    this.busy += 1;
  }

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    const done = new Promise<void>((resolve) => {
      const timer: Timer = {
        at: this.t + Math.max(0, ms),
        wake: () => {
          this.timers = this.timers.filter((x) => x !== timer);
          this.busy += 1;
          resolve();
        },
      };
      this.timers.push(timer);
      signal.addEventListener('abort', () => timer.wake(), { once: true });
    });
    this.busy -= 1;
    this.checkIdle();
    return done;
  };

  /** Wakes sleepers in time order up to `end`, each batch after the last has gone back to sleep. */
  async runUntil(end: number): Promise<void> {
    for (;;) {
      await this.idle();
      const next = Math.min(...this.timers.map((x) => x.at));
      if (!Number.isFinite(next) || next > end) {
        this.t = Math.max(this.t, end);
        return;
      }
      this.t = Math.max(this.t, next);
      for (const timer of this.timers.filter((x) => x.at <= this.t)) timer.wake();
    }
  }

  /** Resolves when no actor is busy. */
  idle(): Promise<void> {
    if (this.busy <= 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.busy > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
