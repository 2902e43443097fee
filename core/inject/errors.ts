import { SecureKeyError } from '../errors.ts';

export type InjectErrorKind =
  /** A securekey.io/* annotation that cannot be used (names it). */
  | 'bad-annotation'
  /** The pod already has something the injector would add (a container or volume of that name). */
  | 'conflict'
  /** A Kata policy was generated before injection: mutating now would break the measured policy. */
  | 'policy-before-injection'
  /** The pod's agent mode and its SecureKeys' deployment modes disagree, or its SecureKeys disagree. */
  | 'mode-mismatch'
  /** A key names a SecureKey that does not exist (or is not ready). */
  | 'unknown-securekey'
  /** The app would run as a uid that cannot read the key files, and shares no group with them (ADR 21). */
  | 'unreadable-keys';

/** Why a pod cannot get the agent; the webhook denies admission with this message. */
export class InjectError extends SecureKeyError<InjectErrorKind> {}
