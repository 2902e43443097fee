import { durationMs } from '../../core/duration.ts';
import { ReconcileError } from './errors.ts';

/** Milliseconds in a SecureKey or operator duration (core/duration.ts), or a `bad-duration` naming `field`. */
export function parseDuration(text: string, field = 'duration'): number {
  const parsed = durationMs(text);
  if ('ms' in parsed) return parsed.ms;
  if (parsed.problem === 'too-long') {
    throw new ReconcileError('bad-duration', `${field} ${JSON.stringify(text)} is too long`);
  }
  throw new ReconcileError('bad-duration', `${field} ${JSON.stringify(text)} is not a duration`, {
    hint: 'write numbers with a unit ms, s, m or h, e.g. 24h, 1h30m, 90m or 1.5h',
  });
}
