/**
 * Retries with exponential backoff and jitter, inside a deadline: every remote call the agent makes
 * (DESIGN §6). The caller says which failures are worth another try; the last error is rethrown.
 */

export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts: number;
  /** First delay; doubles each time, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs?: number;
  /** No new attempt starts after this (epoch ms). */
  deadline?: number;
  retryable: (err: unknown) => boolean;
  /** Server-requested delay (Retry-After), when the error carries one. */
  retryAfterMs?: (err: unknown) => number | undefined;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  now?: () => number;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const now = o.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= o.attempts || !o.retryable(err)) throw err;
      const backoff = Math.min(o.baseDelayMs * 2 ** (attempt - 1), o.maxDelayMs ?? 10_000);
      const delay = Math.max(o.retryAfterMs?.(err) ?? 0, backoff * (0.5 + Math.random() / 2));
      if (o.deadline !== undefined && now() + delay >= o.deadline) throw err;
      o.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
