/**
 * What binds an AzureGuest token to this node's TPM: the token's `x-ms-runtime.keys` entry with kid
 * `TpmEphemeralEncryptionKey` (the key the vault wraps released keys to), and, our addition, the
 * quote's qualifying data and the HCL user data derived from the ClientPayload nonce.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { unverifiedJwtPayload } from '../jwt-payload.ts';
import { AzureGuestError } from './errors.ts';

export const TPM_EPHEMERAL_KEY_ID = 'TpmEphemeralEncryptionKey';

/** The JWT payload, undecoded signature: the caller verifies the token (or the vault does). */
export function jwtPayload(jwt: string): Record<string, unknown> {
  const payload = unverifiedJwtPayload(jwt);
  if (payload === undefined) {
    throw new AzureGuestError('no-ephemeral-key', 'the attestation token is not a JWT with a JSON payload');
  }
  return payload;
}

/** The RSA public key of `x-ms-runtime.keys[kid = TpmEphemeralEncryptionKey]` in a token's claims. */
export function tpmEphemeralKey(claims: Record<string, unknown>): {
  jwk: Record<string, unknown>;
  key: KeyObject;
} {
  const runtime = claims['x-ms-runtime'];
  const keys =
    typeof runtime === 'object' && runtime !== null
      ? (runtime as Record<string, unknown>)['keys']
      : undefined;
  const jwk = Array.isArray(keys)
    ? (keys as unknown[]).find(
        (k): k is Record<string, unknown> =>
          typeof k === 'object' &&
          k !== null &&
          (k as Record<string, unknown>)['kid'] === TPM_EPHEMERAL_KEY_ID,
      )
    : undefined;
  if (!jwk) {
    throw new AzureGuestError('no-ephemeral-key', `x-ms-runtime.keys holds no ${TPM_EPHEMERAL_KEY_ID}`);
  }
  const { kty, n, e } = jwk;
  try {
    if (kty !== 'RSA' || typeof n !== 'string' || typeof e !== 'string') throw new Error('not RSA');
    return { jwk, key: crypto.createPublicKey({ key: { kty, n, e }, format: 'jwk' }) };
  } catch {
    throw new AzureGuestError('no-ephemeral-key', `${TPM_EPHEMERAL_KEY_ID} is not an RSA JWK with n and e`);
  }
}

/**
 * The quote's qualifying data for a ClientPayload nonce: SHA-256 of its UTF-8 text. AttestationClient
 * quotes with empty qualifying data; we bind the nonce so a recorded quote cannot be sent again.
 */
export function quoteQualifyingData(nonce: string): Buffer {
  return crypto.createHash('sha256').update(nonce, 'utf8').digest();
}

/**
 * The 64 bytes written to NV 0x01400002 before the HCL report is read: SHA-256(EncKeyPub TPM2B_PUBLIC)
 * ‖ SHA-256(nonce). The SNP report then signs this request's key and nonce (AttestationClient reads the
 * report as the paravisor last left it).
 */
export function azureGuestUserData(encKeyPub: Uint8Array, nonce: string): Buffer {
  return Buffer.concat([
    crypto.createHash('sha256').update(encKeyPub).digest(),
    crypto.createHash('sha256').update(nonce, 'utf8').digest(),
  ]);
}
