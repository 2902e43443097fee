import { ReconcileError } from './errors.ts';

/** What the CRD admits: Go's time.ParseDuration without signs, `ns`/`us` or a bare `0`. */
const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a Go-style duration such as `24h`, `1h30m`, `90m` or `1.5h`. */
export function parseDuration(text: string, field = 'duration'): number {
  if (typeof text !== 'string' || !DURATION.test(text)) {
    throw new ReconcileError('bad-duration', `${field} ${JSON.stringify(text)} is not a duration`, {
      hint: 'write numbers with a unit ms, s, m or h, e.g. 24h, 1h30m, 90m or 1.5h',
    });
  }
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    ms += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  if (!Number.isSafeInteger(Math.round(ms))) {
    throw new ReconcileError('bad-duration', `${field} ${JSON.stringify(text)} is too long`);
  }
  return ms;
}
