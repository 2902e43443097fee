/**
 * Step timings for the benchmark: when each step started (relative to the timeline's origin) and how
 * long it took. Concurrent steps overlap, so durations do not add up to the total. The origin is also
 * given on the process's own clock (`originMs`, ms since the process started), so a reader can tell
 * Node's start and module loading from the steps.
 */
import { performance } from 'node:perf_hooks';

export interface StepTiming {
  step: string;
  /** Milliseconds from the start of the run. */
  startMs: number;
  durationMs: number;
  ok: boolean;
}

export class Timeline {
  readonly #origin: number;
  readonly #now: () => number;
  readonly #entries: StepTiming[] = [];

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#origin = now();
  }

  /** The origin, in ms since the process started (performance.now() is relative to that). */
  get originMs(): number {
    return round(this.#origin);
  }

  /** Runs `fn` as `step`, recording its timing whether it succeeds or fails. */
  async time<T>(step: string, fn: () => Promise<T> | T): Promise<T> {
    const start = this.#now();
    let ok = false;
    try {
      const value = await fn();
      ok = true;
      return value;
    } finally {
      this.#entries.push({
        step,
        startMs: round(start - this.#origin),
        durationMs: round(this.#now() - start),
        ok,
      });
    }
  }

  /** Milliseconds since the run started. */
  elapsed(): number {
    return round(this.#now() - this.#origin);
  }

  entries(): StepTiming[] {
    return [...this.#entries].sort((a, b) => a.startMs - b.startMs);
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
