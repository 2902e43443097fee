import { SecureKeyError } from '../errors.ts';

export type OwnershipErrorKind = 'no-uid' | 'no-cluster';

/** An owner identity that cannot be formed (a SecureKey not yet stored, an empty cluster identity). */
export class OwnershipError extends SecureKeyError<OwnershipErrorKind> {}
