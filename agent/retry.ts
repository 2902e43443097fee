/**
 * Retries with exponential backoff and jitter, inside a deadline, for the agent's calls to THIM, the
 * PSP, Azure Attestation and Entra (docs/design.md#the-agent); the vault's go through the Key Vault SDK's
 * retry with Retry-After bounded by the same deadline, and KDS is asked once. The caller says which
 * failures are worth another try; the last error is rethrown.
 *
 * A server that says when to come back is obeyed instead of the backoff: an HttpError carrying `retryAt`
 * (its `Retry-After`) is retried then, and when that is past the deadline the run stops at once with an
 * HttpError `retry-after-deadline` that says when, instead of waiting out the deadline or asking early.
 */
import { setTimeout as timerSleep } from 'node:timers/promises';
import { isErrorOf } from '../core/errors.ts';
import { HttpError, retryAfterDeadline } from '../edge/http/client.ts';

export interface RetryOptions {
  /** Attempts in total, the first included. */
  attempts: number;
  /** First delay; doubles each time, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs?: number;
  /** No new attempt starts after this (epoch ms). */
  deadline?: number;
  retryable: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  now?: () => number;
  /** How to wait (tests record the delays instead). */
  sleep?: (ms: number) => Promise<void>;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const now = o.now ?? Date.now;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= o.attempts || !o.retryable(err)) throw err;
      const asked = err instanceof HttpError ? err.retryAt : undefined;
      const backoff = Math.min(o.baseDelayMs * 2 ** (attempt - 1), o.maxDelayMs ?? 10_000);
      const delay = asked ? Math.max(0, asked.getTime() - now()) : backoff * (0.5 + Math.random() / 2);
      if (o.deadline !== undefined && now() + delay >= o.deadline) {
        if (asked && err instanceof HttpError) {
          throw retryAfterDeadline(err.message, {
            endpoint: err.endpoint,
            retryAt: asked,
            ...(err.status === undefined ? {} : { status: err.status }),
            cause: err,
          });
        }
        throw err;
      }
      o.onRetry?.(err, attempt, delay);
      await (o.sleep ?? sleep)(delay);
    }
  }
}

/** An HttpError worth another try: throttling or an outage (`unavailable`), no answer, no answer in time. */
export function transientHttpError(err: unknown): boolean {
  return (
    err instanceof HttpError &&
    (err.kind === 'unavailable' || err.kind === 'unreachable' || err.kind === 'timeout')
  );
}

export function sleep(ms: number): Promise<void> {
  return timerSleep(ms);
}

/** When the service asked to be called again (a Retry-After anywhere in the cause chain), if it did. */
export function retryAtOf(err: unknown): Date | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isErrorOf(e, HttpError) && e.retryAt !== undefined) return e.retryAt;
  }
  return undefined;
}
