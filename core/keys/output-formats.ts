/**
 * The three ways an agent writes a released key to its sink.
 *
 * - `raw`: oct → the key bytes; RSA/EC → PKCS#8 DER.
 * - `pem`: RSA/EC → `-----BEGIN PRIVATE KEY-----` (PKCS#8). Refused for oct: there is no standard PEM
 *   for a bare symmetric key, and inventing a label would only produce files no tool reads.
 * - `jwk`: the private JWK (`kty:"oct"` with `k`; full RSA/EC private members), `key_ops` when given,
 *   members sorted and no whitespace, so the same key always gives the same bytes.
 */
import type { KeyMaterial } from './key-material.ts';
import { KeyMaterialError } from './errors.ts';
import { sortedJson } from './sorted-json.ts';

export const KEY_FORMATS = ['raw', 'pem', 'jwk'] as const;
export type KeyFormat = (typeof KEY_FORMATS)[number];

export interface FormatOptions {
  /** JWK `key_ops` to include (the vault key's permitted operations); only the `jwk` format uses it. */
  keyOps?: readonly string[];
}

/** The file contents for `material` in `format`. The result holds key material: handle it as such. */
export function formatKeyMaterial(
  material: KeyMaterial,
  format: KeyFormat,
  options: FormatOptions = {},
): Buffer {
  switch (format) {
    case 'raw':
      return material.kty === 'oct'
        ? material.key.export()
        : material.key.export({ format: 'der', type: 'pkcs8' });
    case 'pem':
      if (material.kty === 'oct') {
        throw new KeyMaterialError('format-unavailable', 'a symmetric (oct) key has no PEM form', {
          hint: 'write it as raw bytes or as a JWK',
        });
      }
      return Buffer.from(String(material.key.export({ format: 'pem', type: 'pkcs8' })), 'ascii');
    case 'jwk':
      return Buffer.from(privateJwkJson(material, options.keyOps), 'utf8');
    default:
      throw new KeyMaterialError(
        'unsupported-format',
        `output format ${JSON.stringify(format)} is not supported`,
        {
          hint: `expected one of ${KEY_FORMATS.join(', ')}`,
        },
      );
  }
}

function privateJwkJson(material: KeyMaterial, keyOps: readonly string[] | undefined): string {
  const jwk: Record<string, unknown> = { ...material.key.export({ format: 'jwk' }) };
  // Node names secp256k1 as the JWK registry does (RFC 8812); assert it rather than trust it.
  if (material.kty === 'EC') jwk['crv'] = material.curve.jwk;
  if (keyOps !== undefined) jwk['key_ops'] = checkedKeyOps(keyOps);
  return sortedJson(jwk);
}

function checkedKeyOps(keyOps: readonly unknown[]): string[] {
  if (!Array.isArray(keyOps) || !keyOps.every((op) => typeof op === 'string' && op !== '')) {
    throw new KeyMaterialError('bad-key-ops', 'key_ops must be a list of non-empty strings');
  }
  return [...(keyOps as string[])];
}
