import { SecureKeyError } from '../errors.ts';

/** Why an Azure guest attestation request or its sealed answer was refused. */
export type AzureGuestErrorKind =
  /** The request body or its AttestationInfo is not what AttestationClient sends (a field missing or mistyped). */
  | 'bad-request'
  /** The sealed answer is not base64url JSON with EncryptedInnerKey, EncryptionParams, AuthenticationData and Jwt. */
  | 'bad-response'
  /** EncryptionParams other than AES-GCM (KeySizeInBits 128/192/256), as AttestationClient accepts. */
  | 'unsupported-encryption'
  /** AES-GCM refused the Jwt: wrong inner key (another TPM key), or the answer was altered. */
  | 'decryption-failed'
  /** The token is not a JWT whose `x-ms-runtime.keys` holds the RSA `TpmEphemeralEncryptionKey`. */
  | 'no-ephemeral-key'
  /** The TCG event log cannot be read (missing, unreadable, empty or over the size bound). */
  | 'tcg-log-unreadable';

export class AzureGuestError extends SecureKeyError<AzureGuestErrorKind> {}
