import { SecureKeyError } from '../../core/errors.ts';

/** Why the fake AMD hierarchy or its report signer refused an input. */
export type AmdSimErrorKind =
  /** A configuration value of the wrong size or range (chip id, TCB, product, report version). */
  | 'bad-option'
  /** REPORT_DATA that is not exactly 64 bytes. */
  | 'bad-report-data'
  /** A VMPL above 3 or below the VMPL the guest runs at (the firmware answers INVALID_PARAM). */
  | 'bad-vmpl';

export class AmdSimError extends SecureKeyError<AmdSimErrorKind> {}
