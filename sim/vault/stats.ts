/** Calls by operation and status, for tests and the sandbox (`GET /_simulator/stats`). */
export class VaultStats {
  readonly calls: Record<string, Record<string, number>> = {};

  record(operation: string, status: number): void {
    const byStatus = (this.calls[operation] ??= {});
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
  }

  /** Calls of `operation`, all statuses or one. */
  count(operation: string, status?: number): number {
    const byStatus = this.calls[operation] ?? {};
    if (status !== undefined) return byStatus[String(status)] ?? 0;
    return Object.values(byStatus).reduce((n, c) => n + c, 0);
  }
}
