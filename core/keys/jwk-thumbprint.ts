import crypto from 'node:crypto';
import { KeyMaterialError } from './errors.ts';

/** RFC 7638 §3.2: the members that define each key type, in the order the hash input lists them. */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
  oct: ['k', 'kty'],
  // RFC 8037 §2: Ed25519 and X25519 keys.
  OKP: ['crv', 'kty', 'x'],
};

/**
 * The RFC 7638 JWK thumbprint (SHA-256), base64url without padding: the `kid` the SKR sidecar gives
 * its runtime key.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const kty = jwk['kty'];
  const members = typeof kty === 'string' ? REQUIRED_MEMBERS[kty] : undefined;
  if (members === undefined) {
    throw new KeyMaterialError(
      'unsupported-key',
      `no JWK thumbprint is defined here for kty ${JSON.stringify(kty)}`,
    );
  }
  // Members are already in lexicographic order and are all strings, so the input can be built directly.
  const parts = members.map((name) => {
    const value = jwk[name];
    if (typeof value !== 'string') {
      throw new KeyMaterialError('unsupported-key', `JWK member ${name} is missing or not a string`);
    }
    return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  });
  return crypto
    .createHash('sha256')
    .update(`{${parts.join(',')}}`, 'utf8')
    .digest('base64url');
}
