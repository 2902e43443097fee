/**
 * JSON-lines logs: {"time","level","component","msg",...fields}. Key material must never reach a log,
 * so fields named like secrets are redacted, every string passes through `safeMessage` (PEM blocks and
 * long mixed-case base64 runs), errors are reduced to name/kind/message/hint (no stacks), and a log call
 * never throws.
 */
import { safeMessage } from '../reconcile/conditions.ts';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  readonly level: Level;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  component?: string;
  write?: (line: string) => void;
  now?: () => Date;
}

/** Names whose values are secrets or key material (JWK private members included). */
const SECRET_NAME =
  /(secret|password|passphrase|token|assertion|private_?key|credential)s?$|^(d|k|p|q|dp|dq|qi|key|plaintext|material)$/i;
const HARMLESS = new Set(['keyName', 'keyId', 'keyVersion', 'kid', 'tokenExpiresAt', 'tokenFile']);
const REDACTED = '[redacted]';

export function parseLevel(raw: string): Level {
  const l = raw.toLowerCase();
  if ((LEVELS as readonly string[]).includes(l)) return l as Level;
  throw new Error(`log level ${JSON.stringify(raw)} is not one of ${LEVELS.join(', ')}`);
}

function clean(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return safeMessage(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[circular]';
  if (depth > 6) return '[deep]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { kind?: unknown; hint?: unknown };
    const out: Record<string, unknown> = { name: e.name, message: safeMessage(e.message) };
    if (typeof e.kind === 'string') out['kind'] = e.kind;
    if (typeof e.hint === 'string') out['hint'] = safeMessage(e.hint);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => clean(v, seen, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = !HARMLESS.has(k) && SECRET_NAME.test(k) ? REDACTED : clean(v, seen, depth + 1);
  }
  return out;
}

export function createLogger(o: LoggerOptions = {}, bound: Record<string, unknown> = {}): Logger {
  const level = o.level ?? 'info';
  const min = LEVELS.indexOf(level);
  const write = o.write ?? ((line: string) => process.stderr.write(line));
  const now = o.now ?? (() => new Date());
  const emit = (l: Level, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(l) < min) return;
    try {
      const record = clean({ ...bound, ...fields }, new WeakSet(), 0) as Record<string, unknown>;
      const head: Record<string, unknown> = { time: now().toISOString(), level: l };
      if (o.component) head['component'] = o.component;
      head['msg'] = safeMessage(msg);
      write(`${JSON.stringify({ ...head, ...record })}\n`);
    } catch {
      // A log line is never worth a crash.
    }
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(o, { ...bound, ...fields }),
  };
}
