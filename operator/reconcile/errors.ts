import { SecureKeyError } from '../../core/errors.ts';

export type ReconcileErrorKind =
  /** A duration that is not Go-style (`24h`, `1h30m`, `1.5h`), or out of range. */
  | 'bad-duration'
  /** A timestamp in status that is not an RFC 3339 date. */
  | 'bad-timestamp'
  /** An attestation authority the operator may not make a vault trust. */
  | 'bad-authority';

/** A SecureKey, pod or status value the pure reconcile core cannot work with. Names the field. */
export class ReconcileError extends SecureKeyError<ReconcileErrorKind> {}
