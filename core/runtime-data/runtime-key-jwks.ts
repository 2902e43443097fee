/**
 * The agent's runtime data: a JWKS holding only the public half of the RSA key it generated for this
 * release. Its exact bytes are hashed into REPORT_DATA and sent to MAA, which embeds the parsed object
 * as `x-ms-runtime`; the vault then wraps the released key to it.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { jwkThumbprint } from '../keys/jwk-thumbprint.ts';
import { sortedJson } from '../keys/sorted-json.ts';
import { RuntimeDataError } from './errors.ts';

/** The smallest runtime key accepted; the sidecar uses RSA-2048. */
export const MIN_RUNTIME_KEY_BITS = 2048;

export interface RuntimeKeyJwks {
  /** `{"keys":[{"e","key_ops":["encrypt"],"kid","kty":"RSA","n"}]}`, members sorted, no whitespace. */
  bytes: Buffer;
  /** RFC 7638 SHA-256 thumbprint, base64url without padding. */
  kid: string;
}

/** Builds the runtime JWKS byte-for-byte as the Microsoft SKR sidecar does. */
export function runtimeKeyJwks(runtimeKey: KeyObject): RuntimeKeyJwks {
  const publicKey = runtimeKey.type === 'private' ? crypto.createPublicKey(runtimeKey) : runtimeKey;
  const bits =
    publicKey.asymmetricKeyType === 'rsa' ? publicKey.asymmetricKeyDetails?.modulusLength : undefined;
  if (publicKey.type !== 'public' || bits === undefined || bits < MIN_RUNTIME_KEY_BITS) {
    throw new RuntimeDataError(
      'bad-runtime-key',
      `the runtime key must be RSA of at least ${MIN_RUNTIME_KEY_BITS} bits, got ${publicKey.asymmetricKeyType ?? publicKey.type}${bits === undefined ? '' : `-${bits}`}`,
    );
  }
  const { n, e } = publicKey.export({ format: 'jwk' });
  const kid = jwkThumbprint({ e, kty: 'RSA', n });
  const bytes = Buffer.from(sortedJson({ keys: [{ e, key_ops: ['encrypt'], kid, kty: 'RSA', n }] }), 'utf8');
  return { bytes, kid };
}
