import crypto from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import type { KeyMaterial } from './key-material.ts';

/** The public half of a vault key as the vault shows it: no private members. */
export type VaultPublicJwk =
  | { kty: 'oct' | 'oct-HSM' }
  | { kty: 'RSA' | 'RSA-HSM'; n: string; e: string }
  | { kty: 'EC' | 'EC-HSM'; crv: string; x: string; y: string };

/**
 * What the simulated vault reports for a key in its key bundle. `hsm` adds the `-HSM` suffix the vault
 * uses for HSM-backed keys; secp256k1 is named `P-256K`, as the vault names it. An oct key shows no
 * key material at all.
 */
export function vaultPublicJwk(material: KeyMaterial, options: { hsm?: boolean } = {}): VaultPublicJwk {
  const hsm = options.hsm === true;
  if (material.kty === 'oct') return { kty: hsm ? 'oct-HSM' : 'oct' };
  // Export from the public key, so no private member can slip through.
  const jwk = crypto.createPublicKey(material.key).export({ format: 'jwk' });
  if (material.kty === 'RSA')
    return { kty: hsm ? 'RSA-HSM' : 'RSA', n: member(jwk, 'n'), e: member(jwk, 'e') };
  return { kty: hsm ? 'EC-HSM' : 'EC', crv: material.curve.vault, x: member(jwk, 'x'), y: member(jwk, 'y') };
}

function member(jwk: JsonWebKey, name: 'n' | 'e' | 'x' | 'y'): string {
  const value = jwk[name];
  if (typeof value !== 'string') throw new TypeError(`Node exported a public JWK without ${name}`);
  return value;
}
