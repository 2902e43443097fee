import { SecureKeyError } from '../errors.ts';

/** Why released key bytes could not become KeyMaterial, or KeyMaterial could not be written out. */
export type KeyMaterialErrorKind =
  /** The vault key type is not oct, RSA or EC (with or without -HSM). */
  | 'unsupported-key-type'
  /** The bytes are not a single, complete PKCS#8 PrivateKeyInfo. */
  | 'bad-pkcs8'
  /** The PKCS#8 key is of another algorithm than the vault key type says. */
  | 'key-type-mismatch'
  /** An EC curve other than P-256, P-384, P-521 or secp256k1. */
  | 'unsupported-curve'
  /** A symmetric key that is not 16, 24 or 32 bytes. */
  | 'bad-oct-length'
  /** An output format that does not exist for this key type (PEM for a symmetric key). */
  | 'format-unavailable'
  /** An output format other than raw, pem or jwk. */
  | 'unsupported-format'
  /** `key_ops` that is not a list of non-empty strings. */
  | 'bad-key-ops'
  /** A KeyObject the vault cannot hold (a public key, or an algorithm other than RSA or EC). */
  | 'unsupported-key';

export class KeyMaterialError extends SecureKeyError<KeyMaterialErrorKind> {}
