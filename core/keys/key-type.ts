import { KeyMaterialError } from './errors.ts';

/**
 * Key types as the vault names them. A release payload says `RSA` even for an `RSA-HSM` key, so both
 * spellings of each are accepted; what matters for the plaintext is the family.
 */
export const VAULT_KEY_TYPES = ['oct', 'oct-HSM', 'RSA', 'RSA-HSM', 'EC', 'EC-HSM'] as const;
export type VaultKeyType = (typeof VAULT_KEY_TYPES)[number];

/** The JWK `kty` of a key family; also what the unwrapped bytes are (raw bytes vs PKCS#8). */
export type KeyFamily = 'oct' | 'RSA' | 'EC';

export function keyFamilyOf(vaultKeyType: string): KeyFamily {
  switch (vaultKeyType) {
    case 'oct':
    case 'oct-HSM':
      return 'oct';
    case 'RSA':
    case 'RSA-HSM':
      return 'RSA';
    case 'EC':
    case 'EC-HSM':
      return 'EC';
    default:
      throw new KeyMaterialError(
        'unsupported-key-type',
        `vault key type ${JSON.stringify(vaultKeyType)} is not supported`,
        {
          hint: `expected one of ${VAULT_KEY_TYPES.join(', ')}`,
        },
      );
  }
}
