/**
 * An attestation token reused while it is valid — one home for the node agent (one token per node and
 * authority) and the native sidecar (one per pod, kept across refreshes). `get()` returns the token it
 * already has until `marginMs` before its expiry, then fetches one fresh one however many callers ask
 * at once. A failed fetch is not remembered: the next caller tries again.
 *
 * `Reused<T>` holds anything with an expiry (the sidecar keeps the token with the evidence it came
 * from); `ReusedToken` is the common case of a bare token.
 */
import { unverifiedJwtPayload } from '../core/jwt-payload.ts';
export interface Expiring {
  /** Epoch ms (the token's `exp`). */
  expiresAt: number;
}

export interface ExpiringToken extends Expiring {
  token: string;
}

export interface ReuseOptions {
  /** Fetch again this long before the expiry (default 5 min). */
  marginMs?: number;
  now?: () => number;
}

export class Reused<T extends Expiring> {
  private current: T | undefined;
  private pending: Promise<T> | undefined;
  private readonly fetchOne: (() => Promise<T>) | undefined;
  private readonly marginMs: number;
  private readonly now: () => number;
  /** Values fetched so far (for /metrics and specs). */
  fetches = 0;

  /** `fetch` may instead be given to each `value()` call (a caller whose fetch needs its own context). */
  constructor(fetch?: () => Promise<T>, o: ReuseOptions = {}) {
    this.fetchOne = fetch;
    this.marginMs = o.marginMs ?? 5 * 60_000;
    this.now = o.now ?? Date.now;
  }

  /** The value held, while it is valid for more than the margin. */
  valid(): T | undefined {
    return this.current !== undefined && this.now() < this.current.expiresAt - this.marginMs
      ? this.current
      : undefined;
  }

  async value(fetch: (() => Promise<T>) | undefined = this.fetchOne): Promise<T> {
    const held = this.valid();
    if (held !== undefined) return held;
    if (this.pending === undefined) {
      if (fetch === undefined) throw new TypeError('Reused.value: no fetch given');
      this.fetches += 1;
      this.pending = fetch().then(
        (t) => {
          this.pending = undefined;
          this.current = t;
          return t;
        },
        (err: unknown) => {
          this.pending = undefined;
          throw err;
        },
      );
    }
    return this.pending;
  }

  /** Drops the value (a vault that refused the token as expired or not yet valid): the next call fetches. */
  invalidate(): void {
    this.current = undefined;
  }
}

export class ReusedToken extends Reused<ExpiringToken> {
  async get(): Promise<string> {
    return (await this.value()).token;
  }
}

/** A JWT's `exp` in epoch ms; an hour from `now` when it has none (reused for that default lifetime). */
export function tokenExpiry(jwt: string, now: number = Date.now()): number {
  const exp = unverifiedJwtPayload(jwt)?.['exp'];
  // Not a JWT we can read: reuse it for the default lifetime.
  return typeof exp === 'number' ? exp * 1000 : now + 3_600_000;
}
