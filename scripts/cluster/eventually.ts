/**
 * Polls `probe` every `intervalMs` (20 ms) until it returns a value other than undefined/false, or fails
 * after `ms`. Specs against a whole cluster poll slower, to leave it the CPU.
 */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
  what = 'condition',
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** `eventually` for specs against a whole cluster: every 250 ms, leaving the cluster (two cores) the CPU. */
export function clusterEventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms?: number,
  what?: string,
): Promise<T> {
  return eventually(probe, ms, what, 250);
}
