/**
 * One attestation token for the whole node, reused while it is valid: a key source asks `get()` before
 * each release and gets the token it already has until `marginMs` before its expiry, then one fresh
 * one however many releases ask at once. A failed fetch is not remembered: the next caller tries again.
 */
export interface ExpiringToken {
  token: string;
  /** Epoch ms (the token's `exp`). */
  expiresAt: number;
}

export class ReusedToken {
  private current: ExpiringToken | undefined;
  private pending: Promise<ExpiringToken> | undefined;
  private readonly fetch: () => Promise<ExpiringToken>;
  private readonly marginMs: number;
  private readonly now: () => number;
  /** Tokens fetched so far (for /metrics and specs). */
  fetches = 0;

  constructor(fetch: () => Promise<ExpiringToken>, o: { marginMs?: number; now?: () => number } = {}) {
    this.fetch = fetch;
    this.marginMs = o.marginMs ?? 5 * 60_000;
    this.now = o.now ?? Date.now;
  }

  async get(): Promise<string> {
    if (this.current !== undefined && this.now() < this.current.expiresAt - this.marginMs) {
      return this.current.token;
    }
    if (this.pending === undefined) {
      this.fetches += 1;
      this.pending = this.fetch().then(
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
    return (await this.pending).token;
  }

  /** Drops the token (a vault that refused it as expired or not yet valid): the next get fetches. */
  invalidate(): void {
    this.current = undefined;
  }
}
