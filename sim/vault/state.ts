/**
 * What the simulated vault remembers, as plain JSON so the file store can write it as is. Key material
 * is held as the bytes the vault would wrap on release (PKCS#8 DER for RSA/EC, raw for oct), base64.
 */
export type VaultFlavour = 'keyvault' | 'managedhsm';

export const STATE_FORMAT = 'securekey-vault-simulator/1';

export interface StoredAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  /** Unix seconds. */
  created: number;
  updated: number;
  exportable: boolean;
}

export interface StoredReleasePolicy {
  contentType: string;
  /** base64url (no padding) of the normalised policy JSON. */
  data: string;
  immutable: boolean;
}

export interface StoredVersion {
  version: string;
  /** As created or imported: RSA, RSA-HSM, EC, EC-HSM, oct-HSM. */
  kty: string;
  keySize?: number;
  crv?: string;
  keyOps: string[];
  /** base64 of the simulated key material: PKCS#8 DER (RSA, EC) or raw bytes (oct). */
  material: string;
  attributes: StoredAttributes;
  tags?: Record<string, string>;
  releasePolicy?: StoredReleasePolicy;
}

export interface StoredLifetimeAction {
  trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string };
  action: { type: 'Rotate' | 'Notify' };
}

export interface StoredRotationPolicy {
  lifetimeActions: StoredLifetimeAction[];
  expiryTime?: string;
  created: number;
  updated: number;
}

export interface StoredKey {
  name: string;
  /** Oldest first; the last one is the current version. */
  versions: StoredVersion[];
  rotationPolicy?: StoredRotationPolicy;
  /** Set while the key is soft-deleted. */
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

export interface VaultState {
  format: typeof STATE_FORMAT;
  flavour: VaultFlavour;
  keys: Record<string, StoredKey>;
}

export function emptyState(flavour: VaultFlavour): VaultState {
  return { format: STATE_FORMAT, flavour, keys: {} };
}

export function latestVersion(key: StoredKey): StoredVersion {
  const v = key.versions[key.versions.length - 1];
  if (v === undefined) throw new Error(`key ${key.name} has no versions`);
  return v;
}
