/**
 * The one duration grammar of SecureKey: Go's `time.ParseDuration` as the CRD admits it (CEL and the
 * chart's schema use the same pattern), without signs, `ns`/`us` or a bare `0`. The operator (SecureKey
 * fields, its environment) and the agent (its flags) read durations through this function.
 */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Why a text is not a duration: not in the grammar, or more milliseconds than a safe integer. */
export type DurationProblem = 'not-a-duration' | 'too-long';

/** Milliseconds in a duration such as `24h`, `1h30m`, `90m`, `1.5h` or `250ms`, or why it is not one. */
export function durationMs(text: string): { ms: number } | { problem: DurationProblem } {
  if (typeof text !== 'string' || !DURATION_PATTERN.test(text)) return { problem: 'not-a-duration' };
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  ms = Math.round(ms);
  return Number.isSafeInteger(ms) ? { ms } : { problem: 'too-long' };
}
