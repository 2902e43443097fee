import { SecureKeyError } from '../errors.ts';

/** Why bytes are not strict DER, or a value cannot be encoded as DER. */
export type Asn1ErrorKind =
  /** The input ends inside a tag, a length or the contents. */
  | 'truncated'
  /** Bytes remain after the element that should have been the whole input. */
  | 'trailing-data'
  /** A length in indefinite form (BER only) or the reserved 0xFF length octet. */
  | 'indefinite-length'
  /** A length or high tag number not in its shortest form (DER requires the minimal form). */
  | 'non-minimal-encoding'
  /** A length too large to handle here (more than 4 length octets). */
  | 'length-too-large'
  /** The element is not of the expected class, number or form. */
  | 'unexpected-tag'
  /** INTEGER contents empty or not minimal. */
  | 'bad-integer'
  /** An INTEGER that does not fit the requested range. */
  | 'integer-out-of-range'
  /** OBJECT IDENTIFIER contents or dotted text that is not a valid OID. */
  | 'bad-oid'
  /** BOOLEAN not one byte of 0x00 or 0xFF, or NULL with contents. */
  | 'bad-boolean'
  | 'bad-null'
  /** BIT STRING with a bad unused-bits count or non-zero unused bits. */
  | 'bad-bit-string'
  /** A string with characters its type does not allow, or invalid UTF-8. */
  | 'bad-string'
  /** UTCTime / GeneralizedTime not in the RFC 5280 form, or an impossible date. */
  | 'bad-time';

export class Asn1Error extends SecureKeyError<Asn1ErrorKind> {
  /** Offset of the offending element in the parsed input, when known. */
  readonly offset: number | undefined;

  constructor(kind: Asn1ErrorKind, message: string, offset?: number) {
    super(kind, offset === undefined ? message : `${message} (at offset ${offset})`);
    this.offset = offset;
  }
}
