/**
 * JSON-lines logs: one object per line, `{"time","level","component","msg",...fields}`.
 *
 * Key material must never reach a log (docs/threat-model.md#what-must-hold), so before anything is written:
 * - values of fields named like secrets (`clientSecret`, `private_key`, JWK `d`, ...) are redacted,
 * - every string, the message and field names included, passes through `redactKeyMaterial` (PEM blocks,
 *   key-like base64),
 * - bytes and KeyObjects are described, never dumped,
 * - errors are reduced to name/kind/message/hint (+ code and cause); stacks only at debug level.
 * A log call never throws: a field that cannot be serialised costs that field, not the process.
 */
import { KeyObject } from 'node:crypto';
import { SecureKeyError } from '../../core/errors.ts';
import { redactKeyMaterial } from '../../core/redact.ts';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export type Fields = Record<string, unknown>;

export interface Logger {
  readonly level: Level;
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line (a `component` field replaces the component). */
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  component?: string;
  /** Receives each line with its trailing newline. Defaults to process.stderr. */
  write?: (line: string) => void;
  now?: () => Date;
  /**
   * Field names that hold identifiers in this process's lines although they end like secrets (the agent's
   * `key` and `keys` name key aliases, files and versions). Their values are still cleaned: bytes and
   * KeyObjects described, strings scrubbed, secret-named members inside redacted.
   */
  identifiers?: readonly string[];
}

export class LogConfigError extends SecureKeyError<'invalid-level'> {}

export function parseLevel(s: string): Level {
  const l = s.trim().toLowerCase();
  if ((LEVELS as readonly string[]).includes(l)) return l as Level;
  throw new LogConfigError(
    'invalid-level',
    `log level ${JSON.stringify(s)} is not one of ${LEVELS.join(', ')}`,
    {
      hint: `use one of ${LEVELS.join(', ')}`,
    },
  );
}

const REDACTED = '[redacted]';

/** Last words of field names whose values are secrets (JWK private members are checked apart). */
const SECRET_WORDS = new Set([
  'key',
  'keys',
  'secret',
  'secrets',
  'token',
  'tokens',
  'password',
  'passwd',
  'passphrase',
  'assertion',
  'privatekey',
  'credential',
  'credentials',
  'authorization',
  'cookie',
  'plaintext',
  'material',
]);
const JWK_PRIVATE = new Set(['d', 'k', 'p', 'q', 'dp', 'dq', 'qi']);
/** Names that end like secrets but hold identifiers we want in the logs. */
const HARMLESS = new Set([
  'keyName',
  'keyNames',
  'keyId',
  'keyVersion',
  'kid',
  'tokenExpiresAt',
  'secureKey',
]);

/**
 * Splits `clientSecret`, `CLIENT_SECRET`, `client-secret`, `x.api.key` into words and looks at the last:
 * `clientSecret` and `privateKey` are redacted, `secretName` and `keyVaultUrl` are not.
 */
export function isSecretName(name: string): boolean {
  if (HARMLESS.has(name)) return false;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter((w) => w !== '');
  const last = words[words.length - 1]?.toLowerCase();
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last)) return true;
  // `d` or `client_d` but not `Id`-style camel tails: single letters count only after a separator.
  return JWK_PRIVATE.has(last) && /(^|[_.-])[a-z]{1,2}$/i.test(name);
}

const MAX_DEPTH = 8;
const MAX_ITEMS = 200;

interface Walk {
  ancestors: Set<object>;
  stacks: boolean;
  identifiers: ReadonlySet<string>;
}

function describeError(e: Error, w: Walk, depth: number): Fields {
  const x = e as Error & { kind?: unknown; hint?: unknown; code?: unknown };
  const out: Fields = { name: redactKeyMaterial(String(x.name)) };
  if (typeof x.kind === 'string') out['kind'] = x.kind;
  out['message'] = redactKeyMaterial(String(x.message));
  if (typeof x.hint === 'string') out['hint'] = redactKeyMaterial(x.hint);
  if (typeof x.code === 'string') out['code'] = redactKeyMaterial(x.code);
  if (x.cause !== undefined) out['cause'] = clean(x.cause, w, depth + 1);
  if (w.stacks && typeof x.stack === 'string') out['stack'] = redactKeyMaterial(x.stack);
  return out;
}

function cleanEntries(entries: Iterable<[string, unknown]>, w: Walk, depth: number): Fields {
  const out: Fields = {};
  let n = 0;
  for (const [k, v] of entries) {
    if (++n > MAX_ITEMS) {
      out['…'] = 'truncated';
      break;
    }
    const name = redactKeyMaterial(k);
    // Booleans and null say whether a secret is there without saying what it is.
    out[name] =
      !w.identifiers.has(k) && isSecretName(k) && v !== null && v !== undefined && typeof v !== 'boolean'
        ? REDACTED
        : clean(v, w, depth + 1);
  }
  return out;
}

/** A JSON-safe copy of `value` with secrets redacted. */
function clean(value: unknown, w: Walk, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return redactKeyMaterial(value);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
    case 'undefined':
      return value;
    case 'function':
      return `[function ${value.name || 'anonymous'}]`;
    case 'symbol':
      return redactKeyMaterial(value.toString());
  }
  if (value === null) return null;
  const obj = value as object;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof KeyObject) return `[KeyObject ${obj.type}]`;
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) {
    return `[${obj.byteLength} bytes]`;
  }
  if (obj instanceof URL) return redactKeyMaterial(obj.href);
  if (w.ancestors.has(obj)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  w.ancestors.add(obj);
  try {
    if (obj instanceof Error) return describeError(obj, w, depth);
    if (Array.isArray(obj)) {
      const items = obj.slice(0, MAX_ITEMS).map((v) => clean(v, w, depth + 1));
      if (obj.length > MAX_ITEMS) items.push(`… ${obj.length - MAX_ITEMS} more`);
      return items;
    }
    if (obj instanceof Set) return clean([...obj], w, depth);
    if (obj instanceof Map)
      return cleanEntries(
        [...obj].map(([k, v]) => [String(k), v]),
        w,
        depth,
      );
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return clean(toJSON.call(obj), w, depth + 1);
    return cleanEntries(Object.entries(obj), w, depth);
  } catch (err) {
    // A throwing getter or toJSON costs this value only.
    return `[unserialisable: ${err instanceof Error ? redactKeyMaterial(err.message) : 'error'}]`;
  } finally {
    w.ancestors.delete(obj);
  }
}

/** Names the line itself uses; such a field is written as `_<name>` (a string `component` replaces it). */
const RESERVED = new Set(['time', 'level', 'component', 'msg']);

export function createLogger(options: LoggerOptions = {}): Logger {
  return makeLogger(options, {});
}

function makeLogger(o: LoggerOptions, bound: Fields): Logger {
  const level = o.level ?? 'info';
  const threshold = LEVELS.indexOf(level);
  if (threshold < 0) parseLevel(String(level)); // throws the clear error
  const write = o.write ?? ((line: string) => void process.stderr.write(line));
  const now = o.now ?? (() => new Date());
  const identifiers = new Set(o.identifiers);

  const emit = (l: Level, msg: string, fields: Fields | undefined): void => {
    if (LEVELS.indexOf(l) < threshold) return;
    let line: string;
    try {
      const w: Walk = { ancestors: new Set(), stacks: level === 'debug', identifiers };
      const merged = cleanEntries(Object.entries({ ...bound, ...fields }), w, 0);
      let component = o.component;
      if (typeof merged['component'] === 'string') {
        component = merged['component'];
        delete merged['component'];
      }
      const record: Fields = { time: timestamp(now), level: l };
      if (component !== undefined) record['component'] = redactKeyMaterial(component);
      record['msg'] = redactKeyMaterial(String(msg));
      for (const [k, v] of Object.entries(merged)) record[RESERVED.has(k) ? `_${k}` : k] = v;
      line = `${JSON.stringify(record)}\n`;
    } catch (err) {
      line = `${JSON.stringify({
        time: timestamp(() => new Date()),
        level: l,
        msg: 'log line could not be written',
        reason: err instanceof Error ? redactKeyMaterial(err.message) : 'unknown',
      })}\n`;
    }
    try {
      write(line);
    } catch {
      // Nowhere left to report it; a log line is never worth a crash.
    }
  };

  return {
    level,
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => makeLogger(o, { ...bound, ...fields }),
  };
}

function timestamp(now: () => Date): string {
  try {
    return now().toISOString();
  } catch {
    return new Date().toISOString();
  }
}

/**
 * Writes nothing, and does no work for it (no redaction, no serialisation): the default of code that logs
 * only when its caller passes a logger.
 */
export const silentLogger: Logger = {
  level: 'info',
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/**
 * For code that reports `{ msg?, level?, ...fields }` events to a callback instead of taking a Logger (the
 * simulators' request hooks, which benchmarks also read; the agent's node-mode client): each event becomes
 * a line, at its `level` if it names one, with `msg` when the event has none.
 */
export function logEvents(log: Logger, msg = 'event'): (event: Fields) => void {
  return ({ msg: m, level, ...fields }) => {
    const l = LEVELS.find((x) => x === level) ?? 'info';
    log[l](typeof m === 'string' ? m : msg, fields);
  };
}
