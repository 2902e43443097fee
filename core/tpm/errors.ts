import { SecureKeyError } from '../errors.ts';

/** Why a TPM exchange failed or what the codec refused. */
export type TpmErrorKind =
  /** The TPM answered with a non-zero response code (`responseCode`, decoded in `rcName`). */
  | 'tpm-error'
  /** The response is truncated, has trailing bytes, a wrong tag or a length that runs past its end. */
  | 'malformed-response'
  /** The response is larger than the caller's cap (a TPM response is at most a few KiB). */
  | 'response-too-large'
  /** An argument the codec cannot marshal: out of range, too long for its TPM2B, an unknown algorithm. */
  | 'bad-argument'
  /** A structure the TPM returned is well formed but not what the caller can use (say an ECC key where RSA is needed). */
  | 'unsupported';

export class TpmError extends SecureKeyError<TpmErrorKind> {
  /** The TPM's response code for `tpm-error`. */
  readonly responseCode: number | undefined;
  /** Its name, e.g. `TPM_RC_HANDLE (handle 2)`, when known. */
  readonly rcName: string | undefined;

  constructor(
    kind: TpmErrorKind,
    message: string,
    options: { responseCode?: number; rcName?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(kind, message, options);
    this.responseCode = options.responseCode;
    this.rcName = options.rcName;
  }
}
