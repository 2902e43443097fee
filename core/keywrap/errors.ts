import { SecureKeyError } from '../errors.ts';

/**
 * Why a wrapped key could not be wrapped or unwrapped. The AES-KWP kinds follow RFC 5649's integrity
 * checks one by one; the envelope kinds follow the vault's `key_hsm` layout.
 */
export type KeyWrapErrorKind =
  /** An AES key-encryption key that is not 16, 24 or 32 bytes. */
  | 'bad-kek-length'
  /** AES-KWP input of the wrong size (ciphertext not 8·(n+1) with n ≥ 1, or empty plaintext). */
  | 'bad-length'
  /** RFC 5649 §3: the first half of the integrity block is not A6 59 59 A6 (wrong KEK or tampering). */
  | 'bad-aiv'
  /** RFC 5649 §3: the message length indicator does not fit the ciphertext length. */
  | 'bad-mli'
  /** RFC 5649 §3: padding bytes after the message are not zero. */
  | 'nonzero-padding'
  /** The `key_hsm` envelope is not base64url JSON, or a field is missing or of the wrong type. */
  | 'bad-envelope'
  /** `header.alg` is not `dir`. */
  | 'unsupported-alg'
  /** `header.enc` is not one of the vault's RSA-AES key wrap algorithms. */
  | 'unsupported-enc'
  /** The ciphertext is too short to hold the RSA block and an AES-KWP block. */
  | 'ciphertext-too-short'
  /** RSA-OAEP decryption of the KEK failed (wrong private key, wrong `enc`, or tampering). */
  | 'oaep-failed'
  /** The wrapping key is not an RSA key usable for OAEP. */
  | 'bad-wrapping-key';

export class KeyWrapError extends SecureKeyError<KeyWrapErrorKind> {}
