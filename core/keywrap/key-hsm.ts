/**
 * The vault's `key_hsm` envelope: what Key Vault / Managed HSM returns for a released key.
 *
 * `key_hsm` is base64url(JSON) `{"ciphertext","header":{"alg":"dir","enc","kid"},"schema_version"}`;
 * the ciphertext is RSA-OAEP(runtime public key, KEK) ‖ AES-KWP(KEK, key material), the RSA block being
 * exactly as long as the runtime key's modulus. `enc` names the OAEP hash (MGF1 uses the same one,
 * the label is empty).
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { wrapKwp, unwrapKwp } from './aes-kwp.ts';
import { decodeBase64Url } from './base64url.ts';
import { KeyWrapError } from './errors.ts';

/** The vault's RSA-AES key wrap algorithms and their OAEP hashes. */
export const KEY_HSM_ENCS = {
  CKM_RSA_AES_KEY_WRAP: 'sha1',
  RSA_AES_KEY_WRAP_256: 'sha256',
  RSA_AES_KEY_WRAP_384: 'sha384',
} as const;

export type KeyHsmEnc = keyof typeof KEY_HSM_ENCS;

export interface KeyHsmHeader {
  alg: 'dir';
  enc: KeyHsmEnc;
  /** The runtime key the vault wrapped to (its `kid` in `x-ms-runtime.keys`). */
  kid: string;
}

export interface KeyHsm {
  ciphertext: Buffer;
  header: KeyHsmHeader;
  schemaVersion: string;
}

/** AES-KWP needs at least two semiblocks after the RSA block. */
const MIN_KWP_LENGTH = 16;

export function isKeyHsmEnc(value: unknown): value is KeyHsmEnc {
  return typeof value === 'string' && Object.hasOwn(KEY_HSM_ENCS, value);
}

/** Decodes and checks a `key_hsm` string (base64url JSON). Errors name the offending field. */
export function parseKeyHsm(keyHsm: string): KeyHsm {
  const json = decodeBase64Url(keyHsm, 'key_hsm').toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new KeyWrapError('bad-envelope', 'key_hsm does not decode to JSON');
  }
  if (!isObject(doc)) throw new KeyWrapError('bad-envelope', 'key_hsm is not a JSON object');
  const { ciphertext, header, schema_version: schemaVersion } = doc;
  if (typeof ciphertext !== 'string' || ciphertext === '') {
    throw new KeyWrapError('bad-envelope', 'key_hsm.ciphertext is missing or not a string');
  }
  if (!isObject(header)) throw new KeyWrapError('bad-envelope', 'key_hsm.header is missing or not an object');
  if (typeof schemaVersion !== 'string') {
    throw new KeyWrapError('bad-envelope', 'key_hsm.schema_version is missing or not a string');
  }
  const { alg, enc, kid } = header;
  if (alg !== 'dir') {
    throw new KeyWrapError('unsupported-alg', `key_hsm.header.alg must be "dir", got ${describe(alg)}`);
  }
  if (!isKeyHsmEnc(enc)) {
    throw new KeyWrapError('unsupported-enc', `key_hsm.header.enc ${describe(enc)} is not supported`, {
      hint: `expected one of ${Object.keys(KEY_HSM_ENCS).join(', ')}`,
    });
  }
  if (typeof kid !== 'string' || kid === '') {
    throw new KeyWrapError('bad-envelope', 'key_hsm.header.kid is missing or not a string');
  }
  return {
    ciphertext: decodeBase64Url(ciphertext, 'key_hsm.ciphertext'),
    header: { alg, enc, kid },
    schemaVersion,
  };
}

/**
 * Recovers the released key's plaintext bytes. The split point is the wrapping key's modulus length
 * (the sidecar hard-codes 256 because it only ever uses RSA-2048).
 */
export function unwrapKeyHsm(keyHsm: KeyHsm | string, wrappingPrivateKey: KeyObject): Buffer {
  if (wrappingPrivateKey.type !== 'private') {
    throw new KeyWrapError(
      'bad-wrapping-key',
      'unwrapping needs the runtime RSA private key, got a public key',
    );
  }
  const { envelope, k } = checkedEnvelope(keyHsm, modulusBytes(wrappingPrivateKey));
  const { enc } = envelope.header;
  let kek: Buffer;
  try {
    kek = crypto.privateDecrypt(
      {
        key: wrappingPrivateKey,
        padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: KEY_HSM_ENCS[enc],
      },
      envelope.ciphertext.subarray(0, k),
    );
  } catch {
    // The OpenSSL error says nothing useful and is deliberately not attached.
    throw oaepFailed(enc);
  }
  return unwrapWithKek(kek, envelope.ciphertext.subarray(k));
}

/**
 * The same when the wrapping private key cannot leave where it lives (a TPM): `decryptKek` gets the
 * first `modulusLength` bytes and the OAEP hash `enc` names, and returns the key-encryption key; the
 * rest is unwrapped here with AES-KWP. A refusal of `decryptKek` becomes `oaep-failed`, its cause kept
 * (a TPM's response code says which).
 */
export async function unwrapKeyHsmWith(
  keyHsm: KeyHsm | string,
  modulusLength: number,
  decryptKek: (rsaBlock: Buffer, hash: (typeof KEY_HSM_ENCS)[KeyHsmEnc]) => Promise<Buffer>,
): Promise<Buffer> {
  const { envelope, k } = checkedEnvelope(keyHsm, modulusLength);
  const { enc } = envelope.header;
  let kek: Buffer;
  try {
    kek = await decryptKek(envelope.ciphertext.subarray(0, k), KEY_HSM_ENCS[enc]);
  } catch (cause) {
    throw oaepFailed(enc, cause);
  }
  return unwrapWithKek(kek, envelope.ciphertext.subarray(k));
}

function checkedEnvelope(keyHsm: KeyHsm | string, k: number): { envelope: KeyHsm; k: number } {
  const envelope = typeof keyHsm === 'string' ? parseKeyHsm(keyHsm) : keyHsm;
  const { enc } = envelope.header;
  if (!isKeyHsmEnc(enc))
    throw new KeyWrapError('unsupported-enc', `key_hsm enc ${describe(enc)} is not supported`);
  const { ciphertext } = envelope;
  if (ciphertext.length < k + MIN_KWP_LENGTH) {
    throw new KeyWrapError(
      'ciphertext-too-short',
      `key_hsm.ciphertext is ${ciphertext.length} bytes; a ${k * 8}-bit wrapping key needs at least ${k + MIN_KWP_LENGTH}`,
      { hint: 'the vault wrapped to a different (larger) runtime key, or the ciphertext was truncated' },
    );
  }
  return { envelope, k };
}

function oaepFailed(enc: KeyHsmEnc, cause?: unknown): KeyWrapError {
  return new KeyWrapError('oaep-failed', `RSA-OAEP (${enc}) decryption of the key-encryption key failed`, {
    hint: 'the vault wrapped to a different runtime key, or the RSA block was altered',
    ...(cause === undefined ? {} : { cause }),
  });
}

function unwrapWithKek(kek: Buffer, wrapped: Buffer): Buffer {
  try {
    if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32) {
      throw new KeyWrapError(
        'bad-kek-length',
        `the RSA block holds a ${kek.length}-byte key-encryption key, not 16, 24 or 32`,
      );
    }
    return unwrapKwp(kek, wrapped);
  } finally {
    kek.fill(0);
  }
}

export interface WrapKeyHsmOptions {
  enc: KeyHsmEnc;
  /** The runtime key's `kid`, echoed in the header. */
  kid: string;
  /** Size of the fresh AES key-encryption key; 32 unless a test wants the others. */
  kekLength?: 16 | 24 | 32;
}

/** Builds the `key_hsm` string a vault returns: what the simulated vault serves. */
export function wrapKeyHsm(
  plaintext: Uint8Array,
  wrappingPublicKey: KeyObject,
  options: WrapKeyHsmOptions,
): string {
  const { enc, kid, kekLength = 32 } = options;
  if (!isKeyHsmEnc(enc)) throw new KeyWrapError('unsupported-enc', `enc ${describe(enc)} is not supported`);
  modulusBytes(wrappingPublicKey);
  const kek = crypto.randomBytes(kekLength);
  try {
    const rsaBlock = crypto.publicEncrypt(
      {
        key: wrappingPublicKey,
        padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: KEY_HSM_ENCS[enc],
      },
      kek,
    );
    const ciphertext = Buffer.concat([rsaBlock, wrapKwp(kek, plaintext)]);
    const doc = {
      ciphertext: ciphertext.toString('base64url'),
      header: { alg: 'dir', enc, kid },
      schema_version: '1.0',
    };
    return Buffer.from(JSON.stringify(doc), 'utf8').toString('base64url');
  } finally {
    kek.fill(0);
  }
}

/** Modulus length in bytes of an RSA key (RSA-PSS-only keys cannot do OAEP). */
function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  if (bits === undefined) {
    throw new KeyWrapError(
      'bad-wrapping-key',
      `the wrapping key must be an RSA key, got ${key.asymmetricKeyType ?? key.type}`,
    );
  }
  return Math.ceil(bits / 8);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, safe rendering of an unexpected header value for messages (headers hold no secrets). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return value === undefined ? 'missing' : typeof value;
}
