/**
 * Key types, sizes and curves each flavour accepts, and the generation and import of simulated key
 * material (real keys from Node's crypto, so released keys can be checked byte for byte).
 *
 * Key Vault (Premium) holds RSA and EC keys, software or HSM-backed; it refuses `oct`/`oct-HSM`
 * ("Invalid kty value", KeyTypeNotSupported). Managed HSM holds only HSM keys: RSA-HSM, EC-HSM and
 * oct-HSM, and takes a key type without `-HSM` as the HSM one (a real Managed HSM answered `RSA-HSM`
 * to create and import requests for `RSA`). Only HSM keys can be exportable (checked by the service),
 * so only they can be released.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { EC_CURVES } from '../../core/keys/curves.ts';
import { keyMaterialFromKey, vaultPlaintext } from '../../core/keys/key-material.ts';
import type { KeyMaterial } from '../../core/keys/key-material.ts';
import { badParameter } from './errors.ts';
import type { VaultFlavour } from './state.ts';

export type KeyFamily = 'RSA' | 'EC' | 'oct';

export interface KeySpec {
  kty: string;
  family: KeyFamily;
  hsm: boolean;
  keySize?: number;
  crv?: string;
}

const SUPPORTED: Record<VaultFlavour, readonly string[]> = {
  keyvault: ['RSA', 'RSA-HSM', 'EC', 'EC-HSM'],
  managedhsm: ['RSA-HSM', 'EC-HSM', 'oct-HSM'],
};
const RSA_SIZES = [2048, 3072, 4096];
const OCT_SIZES = [128, 192, 256];

export const DEFAULT_KEY_OPS: Record<KeyFamily, string[]> = {
  RSA: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'],
  EC: ['sign', 'verify'],
  oct: ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'],
};

export function familyOf(kty: string): KeyFamily {
  return kty.startsWith('RSA') ? 'RSA' : kty.startsWith('EC') ? 'EC' : 'oct';
}

/** Refuses a key type the flavour does not hold, with the service's message. */
export function checkKeyType(kty: unknown, flavour: VaultFlavour): string {
  // Every Managed HSM key is an HSM key: `RSA` is `RSA-HSM` there.
  if (flavour === 'managedhsm' && typeof kty === 'string' && ['RSA', 'EC', 'oct'].includes(kty)) {
    return `${kty}-HSM`;
  }
  if (typeof kty !== 'string' || !SUPPORTED[flavour].includes(kty)) {
    throw badParameter(`Invalid kty value: ${String(kty)}`, 'KeyTypeNotSupported');
  }
  return kty;
}

/** Validates `kty`, `key_size` and `crv` of a create request. */
export function keySpecForCreate(body: Record<string, unknown>, flavour: VaultFlavour): KeySpec {
  const kty = checkKeyType(body['kty'], flavour);
  const family = familyOf(kty);
  const hsm = kty.endsWith('-HSM');
  const size = body['key_size'];
  if (family === 'EC') {
    const crv = body['crv'] ?? 'P-256';
    if (typeof crv !== 'string' || !EC_CURVES.some((c) => c.vault === crv)) {
      throw badParameter(
        `Invalid curve name: ${String(crv)}. Supported curves: ${EC_CURVES.map((c) => c.vault).join(', ')}.`,
      );
    }
    return { kty, family, hsm, crv };
  }
  const sizes = family === 'RSA' ? RSA_SIZES : OCT_SIZES;
  const keySize = size ?? (family === 'RSA' ? 2048 : 256);
  if (typeof keySize !== 'number' || !sizes.includes(keySize)) {
    throw badParameter(`Invalid key size ${String(size)} for ${kty}. Supported sizes: ${sizes.join(', ')}.`);
  }
  return { kty, family, hsm, keySize };
}

const generateKeyPair = promisify(crypto.generateKeyPair);

/** Fresh key material for a spec. RSA generation runs off the event loop. */
export async function generateMaterial(spec: KeySpec): Promise<KeyMaterial> {
  if (spec.family === 'oct') return keyMaterialFromKey(crypto.randomBytes((spec.keySize ?? 256) / 8));
  if (spec.family === 'RSA') {
    const { privateKey } = await generateKeyPair('rsa', { modulusLength: spec.keySize ?? 2048 });
    return keyMaterialFromKey(privateKey);
  }
  const curve = EC_CURVES.find((c) => c.vault === spec.crv);
  const { privateKey } = await generateKeyPair('ec', { namedCurve: curve?.openssl ?? 'prime256v1' });
  return keyMaterialFromKey(privateKey);
}

/**
 * An imported JWK (`PUT /keys/{name}`, `Hsm` flag capitalised as the SDK sends it) as a spec and
 * material. BYOK (`key_hsm`) imports are not simulated.
 */
export function materialFromJwk(
  jwk: unknown,
  hsm: boolean,
  flavour: VaultFlavour,
): { spec: KeySpec; material: KeyMaterial } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw badParameter('Property key is required and must be a JSON Web Key.');
  const k = jwk as Record<string, unknown>;
  if (k['key_hsm'] !== undefined) {
    throw badParameter(
      'BYOK import (key_hsm) is not supported by the SecureKey vault simulator; import the private key JWK instead.',
    );
  }
  const baseKty = typeof k['kty'] === 'string' ? k['kty'].replace(/-HSM$/, '') : k['kty'];
  const kty = checkKeyType(
    hsm || (typeof k['kty'] === 'string' && k['kty'].endsWith('-HSM')) ? `${String(baseKty)}-HSM` : baseKty,
    flavour,
  );
  const family = familyOf(kty);
  let material: KeyMaterial;
  try {
    if (family === 'oct') {
      material = keyMaterialFromKey(Buffer.from(String(k['k'] ?? ''), 'base64url'));
    } else {
      const members: Record<string, unknown> = { kty: family };
      const names = family === 'RSA' ? ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] : ['x', 'y', 'd'];
      for (const m of names) if (typeof k[m] === 'string') members[m] = k[m];
      if (family === 'EC') members['crv'] = EC_CURVES.find((c) => c.vault === k['crv'])?.jwk ?? k['crv'];
      material = keyMaterialFromKey(
        crypto.createPrivateKey({ key: members as crypto.JsonWebKey, format: 'jwk' }),
      );
    }
  } catch {
    throw badParameter(
      `The ${kty} JSON Web Key is not a complete private key (the vault needs every private member).`,
    );
  }
  const spec: KeySpec = { kty, family, hsm: kty.endsWith('-HSM') };
  if (material.kty === 'EC') spec.crv = material.curve.vault;
  else if (material.kty === 'RSA') spec.keySize = material.key.asymmetricKeyDetails?.modulusLength ?? 0;
  else spec.keySize = material.key.symmetricKeySize === undefined ? 0 : material.key.symmetricKeySize * 8;
  if (spec.family === 'RSA' && !RSA_SIZES.includes(spec.keySize ?? 0)) {
    throw badParameter(
      `Invalid key size ${spec.keySize} for ${kty}. Supported sizes: ${RSA_SIZES.join(', ')}.`,
    );
  }
  return { spec, material };
}

/** The stored form: what the vault wraps on release, base64. */
export function encodeMaterial(material: KeyMaterial): string {
  return vaultPlaintext(material).toString('base64');
}

export function decodeMaterial(stored: string, kty: string): KeyMaterial {
  const bytes = Buffer.from(stored, 'base64');
  if (familyOf(kty) === 'oct') return keyMaterialFromKey(bytes);
  return keyMaterialFromKey(crypto.createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }));
}
