/**
 * Errors are values with a kind and a hint: the core raises them, the edges
 * (operator, agent, simulators, CLI) turn them into log lines, events, conditions and HTTP bodies.
 * A message names what is wrong and where; it never carries key material or tokens.
 */
export class SecureKeyError<K extends string = string> extends Error {
  /** Stable, machine-readable reason, e.g. `signature-invalid`. Tests and callers branch on this. */
  readonly kind: K;
  /** What the reader can do about it, when the core knows. */
  readonly hint: string | undefined;

  constructor(kind: K, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.hint = options.hint;
  }
}

/** True when `err` is a SecureKeyError of the given class and, if given, kind. */
export function isErrorOf<E extends SecureKeyError>(
  err: unknown,
  ctor: abstract new (...args: never[]) => E,
  kind?: E['kind'],
): err is E {
  return err instanceof ctor && (kind === undefined || err.kind === kind);
}
