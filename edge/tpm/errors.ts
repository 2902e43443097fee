import { SecureKeyError } from '../../core/errors.ts';

export type TpmTransportErrorKind =
  /** The device cannot be opened or the socket cannot be reached. */
  | 'unavailable'
  /** No whole response within the transport's timeout; the transport is then closed. */
  | 'timeout'
  /** The device or connection closed before the response was whole, or the transport was closed. */
  | 'closed'
  /** The socket framing was broken (a non-zero acknowledgement, a frame shorter than a TPM header). */
  | 'protocol';

/** The bytes did not make it to the TPM and back. What the TPM said is core/tpm's TpmError. */
export class TpmTransportError extends SecureKeyError<TpmTransportErrorKind> {}
