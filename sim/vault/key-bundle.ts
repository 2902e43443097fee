/**
 * The JSON the vault answers with, member for member as `@azure/keyvault-keys` parses it: `KeyBundle`
 * (`key` JWK with a versioned `kid`, `attributes` in unix seconds with the recovery level, `tags`,
 * `release_policy {contentType, immutable, data}`), list items (`kid` without or with version), and the
 * deleted-key forms (`recoveryId`, `deletedDate`, `scheduledPurgeDate`).
 */
import { vaultPublicJwk } from '../../core/keys/public-jwk.ts';
import { decodeMaterial } from './key-types.ts';
import { latestVersion } from './state.ts';
import type { StoredKey, StoredVersion, VaultFlavour } from './state.ts';

export interface BundleContext {
  /** `https://<host>[:port]`, no trailing slash: the origin of every `kid`. */
  baseUrl: string;
  flavour: VaultFlavour;
  /** Soft-delete retention; 90 is "Recoverable+Purgeable", fewer "CustomizedRecoverable+Purgeable". */
  recoverableDays: number;
}

export function keyId(ctx: BundleContext, name: string, version?: string): string {
  return version === undefined ? `${ctx.baseUrl}/keys/${name}` : `${ctx.baseUrl}/keys/${name}/${version}`;
}

export function recoveryLevel(days: number): string {
  return days >= 90 ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable';
}

/** `attributes` as the service sends them (members in alphabetical order, as in real responses). */
export function attributesOf(ctx: BundleContext, v: StoredVersion): Record<string, unknown> {
  const a = v.attributes;
  const out: Record<string, unknown> = { created: a.created, enabled: a.enabled };
  if (a.exp !== undefined) out['exp'] = a.exp;
  out['exportable'] = a.exportable;
  if (ctx.flavour === 'managedhsm' && v.kty.endsWith('-HSM')) out['hsmPlatform'] = '2';
  if (a.nbf !== undefined) out['nbf'] = a.nbf;
  out['recoverableDays'] = ctx.recoverableDays;
  out['recoveryLevel'] = recoveryLevel(ctx.recoverableDays);
  out['updated'] = a.updated;
  return out;
}

export function releasePolicyOf(v: StoredVersion): Record<string, unknown> | undefined {
  const p = v.releasePolicy;
  return p === undefined ? undefined : { contentType: p.contentType, immutable: p.immutable, data: p.data };
}

/** The public JWK of a version, `kty` as stored (e.g. RSA-HSM). */
export function publicJwkOf(ctx: BundleContext, key: StoredKey, v: StoredVersion): Record<string, unknown> {
  const material = decodeMaterial(v.material, v.kty);
  const { kty: _kty, ...members } = vaultPublicJwk(material, { hsm: v.kty.endsWith('-HSM') }) as Record<
    string,
    unknown
  >;
  return { kid: keyId(ctx, key.name, v.version), kty: v.kty, key_ops: [...v.keyOps], ...members };
}

export function keyBundle(
  ctx: BundleContext,
  key: StoredKey,
  v: StoredVersion = latestVersion(key),
): Record<string, unknown> {
  const bundle: Record<string, unknown> = { key: publicJwkOf(ctx, key, v), attributes: attributesOf(ctx, v) };
  if (v.tags !== undefined) bundle['tags'] = v.tags;
  const policy = releasePolicyOf(v);
  if (policy !== undefined) bundle['release_policy'] = policy;
  return bundle;
}

function deletedMembers(ctx: BundleContext, key: StoredKey): Record<string, unknown> {
  const d = key.deleted;
  if (d === undefined) return {};
  return {
    recoveryId: `${ctx.baseUrl}/deletedkeys/${key.name}`,
    deletedDate: d.deletedDate,
    scheduledPurgeDate: d.scheduledPurgeDate,
  };
}

export function deletedKeyBundle(ctx: BundleContext, key: StoredKey): Record<string, unknown> {
  return { ...deletedMembers(ctx, key), ...keyBundle(ctx, key) };
}

/** A `GET /keys` item: the key's id without version and its current version's attributes. */
export function keyItem(ctx: BundleContext, key: StoredKey): Record<string, unknown> {
  const v = latestVersion(key);
  const item: Record<string, unknown> = { kid: keyId(ctx, key.name), attributes: attributesOf(ctx, v) };
  if (v.tags !== undefined) item['tags'] = v.tags;
  return item;
}

export function deletedKeyItem(ctx: BundleContext, key: StoredKey): Record<string, unknown> {
  return { ...deletedMembers(ctx, key), ...keyItem(ctx, key) };
}

/** A `GET /keys/{name}/versions` item. */
export function versionItem(ctx: BundleContext, key: StoredKey, v: StoredVersion): Record<string, unknown> {
  const item: Record<string, unknown> = {
    kid: keyId(ctx, key.name, v.version),
    attributes: attributesOf(ctx, v),
  };
  if (v.tags !== undefined) item['tags'] = v.tags;
  return item;
}
