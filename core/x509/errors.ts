import { SecureKeyError } from '../errors.ts';

export type X509ErrorKind =
  /** The DER is not an X.509 certificate (wrong structure, tags or values). */
  | 'bad-certificate'
  /** PEM text with a bad armour line or bad base64. */
  | 'bad-pem'
  /** The same extension OID appears twice (RFC 5280 §4.2 forbids it). */
  | 'duplicate-extension'
  /** The TBS signature algorithm differs from the outer one (RFC 5280 §4.1.1.2). */
  | 'algorithm-mismatch'
  /** Algorithm parameters that are malformed or not allowed for the algorithm. */
  | 'bad-algorithm-parameters'
  /** A signature or hash algorithm this code does not know. */
  | 'unsupported-algorithm'
  /** A distinguished name that cannot be parsed or built. */
  | 'bad-name'
  /** Certificate builder input that cannot produce a valid certificate. */
  | 'bad-input'
  /** The signing key does not fit the requested signature algorithm. */
  | 'key-mismatch';

export class X509Error extends SecureKeyError<X509ErrorKind> {}
