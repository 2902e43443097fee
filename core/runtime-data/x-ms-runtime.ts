/**
 * Reading runtime data the way MAA and the vault do: MAA parses the bytes (`dataType: JSON`) and embeds
 * the object as the `x-ms-runtime` claim; the vault wraps the released key to "the first suitable key"
 * in its `keys`.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { RuntimeDataError } from './errors.ts';

/** The JSON object MAA embeds as `x-ms-runtime` for these runtime data bytes. */
export function parseRuntimeData(runtimeData: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(runtimeData);
  } catch {
    throw new RuntimeDataError('runtime-data-not-json', 'runtime data is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RuntimeDataError('runtime-data-not-json', 'runtime data is not valid JSON');
  }
  if (!isObject(value)) {
    throw new RuntimeDataError('runtime-data-not-json', 'runtime data must be a JSON object', {
      hint: 'MAA embeds it as the x-ms-runtime claim, which AKV reads x-ms-runtime.keys from',
    });
  }
  return value;
}

export interface WrappingKey {
  /** Its position in `x-ms-runtime.keys`. */
  index: number;
  kid: string;
  /** The JWK as it appears in the claim. */
  jwk: Record<string, unknown>;
  publicKey: KeyObject;
}

/**
 * The vault's rule: the first key in `keys` that is RSA, has a `kid`, and is meant for encryption
 * (`key_ops` contains `encrypt`, or `use`/`key_use` is `enc`). A key that qualifies but whose `n`/`e`
 * do not form an RSA public key is an error rather than skipped, since the vault would fail on it too.
 */
export function selectWrappingKey(xMsRuntime: unknown): WrappingKey {
  const keys = isObject(xMsRuntime) ? xMsRuntime['keys'] : undefined;
  if (!Array.isArray(keys)) {
    throw new RuntimeDataError('no-encryption-key', 'x-ms-runtime has no keys array', {
      hint: 'the runtime data must be a JWKS: {"keys":[{"kty":"RSA","kid":…,"key_ops":["encrypt"],"n":…,"e":…}]}',
    });
  }
  const index = keys.findIndex(isSuitable);
  const jwk: unknown = keys[index];
  if (!isSuitable(jwk)) {
    throw new RuntimeDataError(
      'no-encryption-key',
      `none of the ${keys.length} keys in x-ms-runtime.keys is suitable`,
      {
        hint: `the vault wraps only to an RSA key (≥ ${MIN_WRAPPING_KEY_BITS} bits, e = 65537) with a kid and key_ops containing "encrypt" (or use "enc")`,
      },
    );
  }
  const { n, e } = jwk;
  let publicKey: KeyObject | undefined;
  try {
    if (typeof n === 'string' && typeof e === 'string') {
      publicKey = crypto.createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
    }
  } catch {
    publicKey = undefined;
  }
  if (publicKey === undefined) {
    throw new RuntimeDataError('bad-runtime-key', `x-ms-runtime.keys[${index}] has no usable RSA n and e`);
  }
  return { index, kid: jwk.kid, jwk, publicKey };
}

type SuitableJwk = Record<string, unknown> & { kty: 'RSA'; kid: string };

/** Below this the released key would be wrapped to an RSA key that can be factored. */
export const MIN_WRAPPING_KEY_BITS = 2048;

function isSuitable(key: unknown): key is SuitableJwk {
  if (!isObject(key) || key['kty'] !== 'RSA') return false;
  if (typeof key['kid'] !== 'string' || key['kid'] === '') return false;
  const ops = key['key_ops'];
  const forEncryption =
    (Array.isArray(ops) && ops.includes('encrypt')) || key['use'] === 'enc' || key['key_use'] === 'enc';
  return forEncryption && strongEnough(key);
}

/** Modulus of at least MIN_WRAPPING_KEY_BITS and public exponent 65537, read from `n`/`e`. */
function strongEnough(key: Record<string, unknown>): boolean {
  const { n, e } = key;
  if (typeof n !== 'string') return true; // unusable n is reported as bad-runtime-key below
  const hex = Buffer.from(n, 'base64url').toString('hex');
  const bits = hex === '' ? 0 : BigInt(`0x${hex}`).toString(2).length;
  return bits >= MIN_WRAPPING_KEY_BITS && (e === undefined || e === 'AQAB');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
