import { SecureKeyError } from '../errors.ts';

export type CoseErrorKind =
  /** Bytes that are not one well-formed CBOR item within the decoder's bounds. */
  | 'bad-cbor'
  /** CBOR that is not a COSE_Sign1 (tag 18, four members of the right types). */
  | 'bad-cose-sign1'
  /** A header parameter with the wrong type, or one the message needs that is absent. */
  | 'bad-header'
  /** An `alg` this code does not verify. */
  | 'unsupported-algorithm'
  /** The signature does not verify with the given key. */
  | 'signature-invalid';

export class CoseError extends SecureKeyError<CoseErrorKind> {
  /** Offset in the CBOR input where decoding failed, when there is one. */
  readonly offset: number | undefined;

  constructor(
    kind: CoseErrorKind,
    message: string,
    options: { offset?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(kind, message, options);
    this.offset = options.offset;
  }
}
