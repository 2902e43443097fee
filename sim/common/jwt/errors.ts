import { SecureKeyError } from '../../../core/errors.ts';

/**
 * Why a JWT (a client assertion, an access token, an attestation token) was not accepted. The simulated
 * services turn these into their own wire errors (AADSTS codes, AKV messages).
 */
export type TokenErrorKind =
  /** Not three base64url parts holding JSON objects. */
  | 'malformed'
  /** `alg: none` or an empty signature. */
  | 'unsigned'
  /** An algorithm other than RS256. */
  | 'unsupported-alg'
  /** The issuer's metadata or keys could not be fetched or read. */
  | 'discovery-failed'
  /** No key in the issuer's JWKS matches the token's `kid`. */
  | 'unknown-key'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  /** `exp` missing or not a number. */
  | 'missing-exp'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'wrong-subject';

export class TokenError extends SecureKeyError<TokenErrorKind> {}
