/**
 * The answer of `/attest/AzureGuest`: `{"token": base64url(JSON)}` whose JSON seals the attestation
 * JWT to the guest's TPM (AttestationClient's `DecryptMaaToken`, `TpmUnseal.cpp`):
 *
 *   EncryptedInnerKey   base64: the AES key, RSAES-PKCS1-v1_5 encrypted to EncKeyPub (the client
 *                       decrypts it in the TPM with TPM2_RSA_Decrypt, scheme TPM_ALG_RSAES)
 *   EncryptionParams    {Cipher "AES", BlockMode "ChainingModeGCM", BlockPadding "PKCS7",
 *                        KeySizeInBits, Iv: base64}
 *   AuthenticationData  base64: the GCM tag (a top-level member, not inside EncryptionParams)
 *   Jwt                 base64: AES-GCM ciphertext of the JWT, additional data "Transport Key"
 */
import crypto, { type KeyObject } from 'node:crypto';
import { decodeAnyBase64 } from '../policy/base64.ts';
import { AzureGuestError } from './errors.ts';

/** The AES-GCM additional authenticated data AttestationClient uses. */
export const TRANSPORT_KEY_AAD = Buffer.from('Transport Key', 'ascii');

export interface SealOptions {
  /** The AES key (16, 24 or 32 bytes); default 32 random bytes. */
  readonly key?: Buffer;
  /** Default 12 random bytes. */
  readonly iv?: Buffer;
}

/** Seals `jwt` to `encryptionKey` (the certified TPM key): the `token` value of the answer. */
export function sealAzureGuestToken(
  jwt: string,
  encryptionKey: KeyObject,
  options: SealOptions = {},
): string {
  const key = options.key ?? crypto.randomBytes(32);
  const iv = options.iv ?? crypto.randomBytes(12);
  const cipher = crypto.createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-256-gcm', key, iv);
  cipher.setAAD(TRANSPORT_KEY_AAD);
  const jwtCipher = Buffer.concat([cipher.update(jwt, 'utf8'), cipher.final()]);
  const inner = crypto.publicEncrypt(
    { key: encryptionKey, padding: crypto.constants.RSA_PKCS1_PADDING },
    key,
  );
  const sealed = {
    AuthenticationData: cipher.getAuthTag().toString('base64'),
    EncryptedInnerKey: inner.toString('base64'),
    EncryptionParams: {
      BlockMode: 'ChainingModeGCM',
      BlockPadding: 'PKCS7',
      Cipher: 'AES',
      Iv: iv.toString('base64'),
      KeySizeInBits: key.length * 8,
    },
    Jwt: jwtCipher.toString('base64'),
  };
  return Buffer.from(JSON.stringify(sealed), 'utf8').toString('base64url');
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function field(obj: Record<string, unknown>, name: string): Buffer {
  const v = obj[name];
  if (typeof v !== 'string' || v === '') {
    throw new AzureGuestError('bad-response', `the sealed token has no ${name}`);
  }
  const decoded = decodeAnyBase64(v);
  if ('problem' in decoded) {
    throw new AzureGuestError('bad-response', `the sealed token's ${name} is not base64: ${decoded.problem}`);
  }
  return decoded.bytes;
}

/**
 * Opens the `token` of an AzureGuest answer: `decryptInnerKey` gets the EncryptedInnerKey bytes and
 * must return the AES key (RSAES-PKCS1-v1_5 with the TPM's ephemeral key); the JWT comes back.
 */
export async function openAzureGuestToken(
  token: string,
  decryptInnerKey: (encryptedInnerKey: Buffer) => Promise<Buffer> | Buffer,
): Promise<string> {
  const raw = decodeAnyBase64(token);
  if ('problem' in raw)
    throw new AzureGuestError('bad-response', `the token is not base64url: ${raw.problem}`);
  let sealed: unknown;
  try {
    sealed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw.bytes));
  } catch {
    throw new AzureGuestError('bad-response', 'the token does not decode to JSON', {
      hint: 'a plain JWT here means the service did not seal the answer (not an AzureGuest response)',
    });
  }
  if (!isObject(sealed))
    throw new AzureGuestError('bad-response', 'the token does not decode to a JSON object');
  const params = sealed['EncryptionParams'];
  if (!isObject(params))
    throw new AzureGuestError('bad-response', 'the sealed token has no EncryptionParams');
  const { Cipher, BlockMode, BlockPadding, KeySizeInBits } = params;
  if (Cipher !== 'AES' || BlockMode !== 'ChainingModeGCM' || BlockPadding !== 'PKCS7') {
    throw new AzureGuestError(
      'unsupported-encryption',
      `EncryptionParams ${String(Cipher)}/${String(BlockMode)}/${String(BlockPadding)}, expected AES/ChainingModeGCM/PKCS7`,
    );
  }
  const iv = field(params, 'Iv');
  const tag = field(sealed, 'AuthenticationData');
  const encryptedKey = field(sealed, 'EncryptedInnerKey');
  const jwtCipher = field(sealed, 'Jwt');
  const key = await decryptInnerKey(encryptedKey);
  try {
    if (
      ![16, 24, 32].includes(key.length) ||
      (KeySizeInBits !== undefined && KeySizeInBits !== key.length * 8)
    ) {
      throw new AzureGuestError(
        'unsupported-encryption',
        `the inner key is ${key.length} bytes; KeySizeInBits says ${String(KeySizeInBits)}`,
      );
    }
    const decipher = crypto.createDecipheriv(`aes-${key.length * 8}-gcm` as 'aes-256-gcm', key, iv);
    decipher.setAAD(TRANSPORT_KEY_AAD);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(jwtCipher), decipher.final()]).toString('utf8');
    } catch {
      throw new AzureGuestError('decryption-failed', 'AES-GCM refused the sealed Jwt', {
        hint: 'the inner key is not the one sealed (another TPM key) or the answer was altered',
      });
    }
  } finally {
    key.fill(0);
  }
}
