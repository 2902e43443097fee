/**
 * Call counts for tests and the sandbox (`GET /_simulator/stats`): attest calls in total and by
 * outcome — `token`, or the error code sent (`InvalidQuote`, `Throttled`, …) — and every route by status.
 */
export class MaaStats {
  attestTotal = 0;
  readonly attestByOutcome: Record<string, number> = {};
  readonly calls: Record<string, Record<string, number>> = {};

  recordAttest(outcome: string): void {
    this.attestTotal++;
    this.attestByOutcome[outcome] = (this.attestByOutcome[outcome] ?? 0) + 1;
  }

  recordCall(route: string, status: number): void {
    const byStatus = (this.calls[route] ??= {});
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
  }

  /** Attest calls, all or those with one outcome. */
  attests(outcome?: string): number {
    return outcome === undefined ? this.attestTotal : (this.attestByOutcome[outcome] ?? 0);
  }

  snapshot(): { attest: { total: number; byOutcome: Record<string, number> }; calls: MaaStats['calls'] } {
    return {
      attest: { total: this.attestTotal, byOutcome: { ...this.attestByOutcome } },
      calls: structuredClone(this.calls),
    };
  }
}
