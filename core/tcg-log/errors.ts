import { SecureKeyError } from '../errors.ts';

/** Why a TCG event log was refused. Messages name the byte offset and the event number. */
export type TcgLogErrorKind =
  /** A field or an event runs past the end of the log. */
  | 'truncated'
  /** The log, its event count or one event's data is over the parser's bound. */
  | 'too-large'
  /** The first event is not the crypto-agile `Spec ID Event03` (a SHA1-only log, or no log at all). */
  | 'bad-spec-id'
  /** An event's digest count or algorithms are not those the Spec ID event lists. */
  | 'digest-mismatch'
  /** An event's data is not the structure its type says (UEFI_VARIABLE_DATA, StartupLocality). */
  | 'bad-event-data'
  /** A bank the log does not carry, or a caller argument out of range. */
  | 'bad-argument';

export class TcgLogError extends SecureKeyError<TcgLogErrorKind> {
  /** Where in the log the problem is, when it is in the log. */
  readonly offset: number | undefined;

  constructor(kind: TcgLogErrorKind, message: string, options: { offset?: number; hint?: string } = {}) {
    super(kind, message, options.hint === undefined ? {} : { hint: options.hint });
    this.offset = options.offset;
  }
}
