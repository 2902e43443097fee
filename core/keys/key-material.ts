/**
 * KeyMaterial: a released key, checked and held as a KeyObject so that logging it by mistake prints
 * `SecretKeyObject { … }` rather than bytes.
 *
 * What the vault wraps (BYOK specification, confirmed by the SKR sidecar): raw bytes for `oct`, a
 * PKCS#8 PrivateKeyInfo DER for `RSA` and `EC`.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { curveByOpensslName, EC_CURVES } from './curves.ts';
import type { EcCurve } from './curves.ts';
import { KeyMaterialError } from './errors.ts';
import { keyFamilyOf } from './key-type.ts';

export type KeyMaterial =
  | { readonly kty: 'oct'; readonly key: KeyObject }
  | { readonly kty: 'RSA'; readonly key: KeyObject }
  | { readonly kty: 'EC'; readonly key: KeyObject; readonly curve: EcCurve };

/**
 * AES key sizes. SecureKey only creates 128-, 192- and 256-bit oct-HSM keys; the vault would import
 * an oct key of up to 64 bytes (an HMAC-SHA512 key), but such a key cannot come from a SecureKey, so
 * any other size means the bytes are not what we asked the vault for and are refused.
 */
export const OCT_KEY_LENGTHS: readonly number[] = [16, 24, 32];

/** Turns unwrapped plaintext into KeyMaterial, checking it fits the vault key type. */
export function keyMaterialFromPlaintext(plaintext: Uint8Array, vaultKeyType: string): KeyMaterial {
  const family = keyFamilyOf(vaultKeyType);
  if (family === 'oct') return octMaterial(plaintext);

  if (!isSingleDerSequence(plaintext)) {
    throw new KeyMaterialError(
      'bad-pkcs8',
      `the ${vaultKeyType} key is not a single DER-encoded PKCS#8 structure`,
    );
  }
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey({ key: Buffer.from(plaintext), format: 'der', type: 'pkcs8' });
  } catch {
    // OpenSSL's message names only the ASN.1 routine; nothing from the bytes is carried over.
    throw new KeyMaterialError('bad-pkcs8', `the ${vaultKeyType} key is not a valid PKCS#8 private key`);
  }
  return asymmetricMaterial(key, family, vaultKeyType);
}

/**
 * The simulator's way in: KeyMaterial from a generated private KeyObject, a secret KeyObject or raw
 * symmetric bytes.
 */
export function keyMaterialFromKey(key: KeyObject | Uint8Array): KeyMaterial {
  if (key instanceof Uint8Array) return octMaterial(key);
  if (key.type === 'secret') return octMaterial(key.export());
  if (key.type !== 'private') {
    throw new KeyMaterialError('unsupported-key', 'a vault key needs the private key, got a public key');
  }
  if (key.asymmetricKeyType === 'rsa') return asymmetricMaterial(key, 'RSA', 'RSA');
  if (key.asymmetricKeyType === 'ec') return asymmetricMaterial(key, 'EC', 'EC');
  throw new KeyMaterialError(
    'unsupported-key',
    `the vault holds RSA and EC keys, not ${key.asymmetricKeyType}`,
  );
}

/** The bytes the vault wraps for this key: raw for oct, PKCS#8 DER for RSA and EC. */
export function vaultPlaintext(material: KeyMaterial): Buffer {
  if (material.kty === 'oct') return material.key.export();
  return material.key.export({ format: 'der', type: 'pkcs8' });
}

function octMaterial(bytes: Uint8Array): KeyMaterial {
  if (!OCT_KEY_LENGTHS.includes(bytes.length)) {
    throw new KeyMaterialError(
      'bad-oct-length',
      `a symmetric key must be 16, 24 or 32 bytes, got ${bytes.length}`,
      {
        hint: 'SecureKey creates only 128-, 192- and 256-bit oct-HSM keys',
      },
    );
  }
  return { kty: 'oct', key: crypto.createSecretKey(bytes) };
}

function asymmetricMaterial(key: KeyObject, family: 'RSA' | 'EC', vaultKeyType: string): KeyMaterial {
  const actual = key.asymmetricKeyType;
  if (family === 'RSA') {
    if (actual !== 'rsa') {
      throw new KeyMaterialError(
        'key-type-mismatch',
        `the ${vaultKeyType} key holds a ${actual} key, not RSA`,
      );
    }
    return { kty: 'RSA', key };
  }
  if (actual !== 'ec') {
    throw new KeyMaterialError('key-type-mismatch', `the ${vaultKeyType} key holds a ${actual} key, not EC`);
  }
  const namedCurve = key.asymmetricKeyDetails?.namedCurve;
  const curve = curveByOpensslName(namedCurve);
  if (curve === undefined) {
    throw new KeyMaterialError(
      'unsupported-curve',
      `EC curve ${namedCurve ?? '(unnamed)'} is not supported`,
      {
        hint: `expected one of ${EC_CURVES.map((c) => c.jwk).join(', ')}`,
      },
    );
  }
  return { kty: 'EC', key, curve };
}

/**
 * True when `bytes` is exactly one DER SEQUENCE. OpenSSL would otherwise accept a valid key followed
 * by trailing bytes, hiding an unwrap that returned more than the key.
 */
function isSingleDerSequence(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || bytes[0] !== 0x30) return false;
  const first = bytes[1] ?? 0;
  if (first < 0x80) return 2 + first === bytes.length;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return false;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + (bytes[2 + i] ?? 0);
  return 2 + octets + length === bytes.length;
}
