/**
 * The simulated Key Vault (Premium) / Managed HSM: its keys and what it does with them, behind the REST
 * surface of app.ts. Every refusal is a VaultError carrying the status and `error.code` the service
 * answers with; every change is saved to the store before the answer goes out.
 */
import crypto from 'node:crypto';
import { vaultPlaintext } from '../../core/keys/key-material.ts';
import { vaultPublicJwk } from '../../core/keys/public-jwk.ts';
import { KEY_HSM_ENCS, isKeyHsmEnc, wrapKeyHsm } from '../../core/keywrap/key-hsm.ts';
import { RuntimeDataError } from '../../core/runtime-data/errors.ts';
import { selectWrappingKey } from '../../core/runtime-data/x-ms-runtime.ts';
import type { IssuerKeys } from '../common/jwt/issuer-keys.ts';
import { verifyTarget } from './attestation.ts';
import { VaultError, badParameter, deletedKeyNotFound, forbidden, keyNotFound } from './errors.ts';
import {
  attributesOf,
  deletedKeyBundle,
  deletedKeyItem,
  keyBundle,
  keyId,
  keyItem,
  versionItem,
} from './key-bundle.ts';
import type { BundleContext } from './key-bundle.ts';
import {
  DEFAULT_KEY_OPS,
  decodeMaterial,
  encodeMaterial,
  familyOf,
  generateMaterial,
  keySpecForCreate,
  materialFromJwk,
} from './key-types.ts';
import type { KeySpec } from './key-types.ts';
import { page } from './paging.ts';
import type { Page } from './paging.ts';
import { acceptReleasePolicy, hasPolicyData, storedPolicy } from './release-policy.ts';
import { releaseJws } from './release-response.ts';
import type { VaultSigner } from './release-response.ts';
import { acceptRotationPolicy, rotationPolicyWire } from './rotation-policy.ts';
import type { VaultOperation } from './routes.ts';
import { emptyState, latestVersion } from './state.ts';
import type { StoredKey, StoredReleasePolicy, StoredVersion, VaultFlavour, VaultState } from './state.ts';
import type { VaultStore } from './store.ts';

export interface VaultServiceOptions {
  flavour: VaultFlavour;
  /** `https://<host>[:port]`: the origin of every kid. */
  baseUrl: string;
  store: VaultStore;
  /** Signs release responses; its certificate names the vault host. */
  signer: VaultSigner;
  /** Finds attestation issuers' keys (OIDC discovery, trusting the configured CA). */
  attestationKeys: IssuerKeys;
  now?: () => number;
  /** Soft-delete retention: 90 days for Key Vault, 7 for Managed HSM by default. */
  softDeleteRetentionDays?: number;
  /** Clock skew tolerated on attestation tokens; default 60 s. */
  attestationSkewSeconds?: number;
}

type Json = Record<string, unknown>;

const KEY_NAME = /^[0-9a-zA-Z-]{1,127}$/;

function object(v: unknown, what: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badParameter(`${what} must be a JSON object.`);
  return v as Json;
}

interface RequestAttributes {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  exportable?: boolean;
}

function requestAttributes(v: unknown): RequestAttributes {
  const a = object(v, 'attributes');
  const out: RequestAttributes = {};
  for (const name of ['enabled', 'exportable'] as const) {
    const x = a[name];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'boolean') throw badParameter(`attributes.${name} must be a boolean.`);
    out[name] = x;
  }
  for (const name of ['nbf', 'exp'] as const) {
    const x = a[name];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'number' || !Number.isInteger(x))
      throw badParameter(`attributes.${name} must be a time in unix seconds.`);
    out[name] = x;
  }
  return out;
}

function keyOps(v: unknown, fallback: string[]): string[] {
  if (v === undefined || v === null) return [...fallback];
  if (!Array.isArray(v) || !v.every((o) => typeof o === 'string'))
    throw badParameter('key_ops must be an array of strings.');
  return [...(v as string[])];
}

function tags(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const t = object(v, 'tags');
  if (!Object.values(t).every((x) => typeof x === 'string'))
    throw badParameter('tags values must be strings.');
  return t as Record<string, string>;
}

export class VaultService {
  readonly flavour: VaultFlavour;
  readonly ctx: BundleContext;
  /** Changes made on behalf of clients, by operation. */
  readonly writes: Partial<Record<VaultOperation, number>> = {};
  readonly #o: VaultServiceOptions;
  readonly #state: VaultState;

  constructor(options: VaultServiceOptions) {
    this.#o = options;
    this.flavour = options.flavour;
    const days = options.softDeleteRetentionDays ?? (options.flavour === 'managedhsm' ? 7 : 90);
    this.ctx = {
      baseUrl: options.baseUrl.replace(/\/$/, ''),
      flavour: options.flavour,
      recoverableDays: days,
    };
    const loaded = options.store.load();
    if (loaded !== undefined && loaded.flavour !== options.flavour) {
      throw new Error(`the saved vault state is a ${loaded.flavour}, not a ${options.flavour}`);
    }
    this.#state = loaded ?? emptyState(options.flavour);
  }

  get totalWrites(): number {
    return Object.values(this.writes).reduce((n, c) => n + c, 0);
  }

  /** A deep copy of the state (key material included): for tests and inspection only. */
  snapshot(): VaultState {
    return JSON.parse(JSON.stringify(this.#state)) as VaultState;
  }

  #nowSeconds(): number {
    return Math.floor((this.#o.now ?? Date.now)() / 1000);
  }

  #commit(op: VaultOperation): void {
    this.writes[op] = (this.writes[op] ?? 0) + 1;
    this.#o.store.save(this.#state);
  }

  /** Drops soft-deleted keys past their scheduled purge date. */
  #expirePurges(): void {
    const now = this.#nowSeconds();
    let changed = false;
    for (const [name, key] of Object.entries(this.#state.keys)) {
      if (key.deleted !== undefined && key.deleted.scheduledPurgeDate <= now) {
        delete this.#state.keys[name];
        changed = true;
      }
    }
    if (changed) this.#o.store.save(this.#state);
  }

  #checkName(name: string): void {
    if (!KEY_NAME.test(name)) {
      throw badParameter(
        `The key name ${JSON.stringify(name)} is invalid: use 1 to 127 characters 0-9, a-z, A-Z and -.`,
      );
    }
  }

  #live(name: string): StoredKey {
    this.#checkName(name);
    this.#expirePurges();
    const key = this.#state.keys[name];
    if (key === undefined || key.deleted !== undefined) throw keyNotFound(name);
    return key;
  }

  #deleted(name: string): StoredKey {
    this.#checkName(name);
    this.#expirePurges();
    const key = this.#state.keys[name];
    if (key === undefined || key.deleted === undefined) throw deletedKeyNotFound(name);
    return key;
  }

  #version(key: StoredKey, version: string | undefined): StoredVersion {
    if (version === undefined || version === '') return latestVersion(key);
    const v = key.versions.find((x) => x.version === version);
    if (v === undefined) throw keyNotFound(key.name, version);
    return v;
  }

  /** A name that may take a new version: free, or a live key; not one that is soft-deleted. */
  #writable(name: string): StoredKey | undefined {
    this.#checkName(name);
    this.#expirePurges();
    const key = this.#state.keys[name];
    if (key?.deleted !== undefined) {
      throw new VaultError(
        'Conflict',
        `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
        { innerCode: 'ObjectIsDeletedButRecoverable' },
      );
    }
    return key;
  }

  /**
   * The policy of a new version: the request's, or for a later version of an exportable key the
   * current one's ("release policy must be provided when creating the first version"). Exportable
   * keys must be HSM keys and must end up with a policy; non-exportable keys must not have one.
   */
  #policyForNewVersion(
    body: Json,
    spec: KeySpec,
    exportable: boolean,
    existing: StoredKey | undefined,
  ): StoredReleasePolicy | undefined {
    if (exportable && !spec.hsm) {
      throw badParameter(
        `Only HSM-protected keys (RSA-HSM, EC-HSM${this.flavour === 'managedhsm' ? ', oct-HSM' : ''}) can be exportable; ${spec.kty} cannot.`,
      );
    }
    if (!exportable && hasPolicyData(body['release_policy'])) {
      // Both services refuse it (Azure SDK recordings), each in its own words.
      throw badParameter(
        this.flavour === 'managedhsm'
          ? 'Non-exportable keys must not have release policy'
          : 'AKV.SKR.1005: Non-exportable keys must not have release policy.',
      );
    }
    const policy = hasPolicyData(body['release_policy'])
      ? acceptReleasePolicy(body['release_policy'])
      : undefined;
    const inherited = existing === undefined ? undefined : latestVersion(existing).releasePolicy;
    const result = policy ?? (exportable ? inherited : undefined);
    if (exportable && result === undefined)
      throw badParameter('AKV.SKR.1004: Exportable keys must have release policy.');
    return result;
  }

  #newVersion(
    name: string,
    existing: StoredKey | undefined,
    v: StoredVersion,
    op: VaultOperation,
  ): StoredKey {
    const key = existing ?? this.#state.keys[name] ?? { name, versions: [] };
    key.versions.push(v);
    this.#state.keys[name] = key;
    this.#commit(op);
    return key;
  }

  #versionRecord(
    spec: KeySpec,
    material: Parameters<typeof encodeMaterial>[0],
    body: Json,
    attrs: RequestAttributes,
    policy: StoredReleasePolicy | undefined,
  ): StoredVersion {
    const now = this.#nowSeconds();
    const v: StoredVersion = {
      version: crypto.randomBytes(16).toString('hex'),
      kty: spec.kty,
      keyOps: keyOps(body['key_ops'], DEFAULT_KEY_OPS[spec.family]),
      material: encodeMaterial(material),
      attributes: {
        enabled: attrs.enabled ?? true,
        created: now,
        updated: now,
        exportable: attrs.exportable === true,
      },
    };
    if (spec.keySize !== undefined) v.keySize = spec.keySize;
    if (spec.crv !== undefined) v.crv = spec.crv;
    if (attrs.nbf !== undefined) v.attributes.nbf = attrs.nbf;
    if (attrs.exp !== undefined) v.attributes.exp = attrs.exp;
    const t = tags(body['tags']);
    if (t !== undefined) v.tags = t;
    if (policy !== undefined) v.releasePolicy = policy;
    return v;
  }

  /** `POST /keys/{name}/create`: a new key, or a new version of an existing one. */
  async createKey(name: string, body: unknown): Promise<Json> {
    const b = object(body, 'The request body');
    let existing = this.#writable(name);
    const spec = keySpecForCreate(b, this.flavour);
    const attrs = requestAttributes(b['attributes']);
    const policy = this.#policyForNewVersion(b, spec, attrs.exportable === true, existing);
    const v = this.#versionRecord(spec, await generateMaterial(spec), b, attrs, policy);
    existing = this.#writable(name); // the name may have changed state while the key was generated
    return keyBundle(this.ctx, this.#newVersion(name, existing, v, 'createKey'), v);
  }

  /** `PUT /keys/{name}`: import a private JWK (`Hsm` selects the -HSM type). */
  importKey(name: string, body: unknown): Json {
    const b = object(body, 'The request body');
    const existing = this.#writable(name);
    const hsm = b['Hsm'] ?? b['hsm'];
    const { spec, material } = materialFromJwk(b['key'], hsm === true, this.flavour);
    const attrs = requestAttributes(b['attributes']);
    const policy = this.#policyForNewVersion(b, spec, attrs.exportable === true, existing);
    const jwkOps = (b['key'] as Json)['key_ops'];
    const v = this.#versionRecord(spec, material, { ...b, key_ops: jwkOps }, attrs, policy);
    return keyBundle(this.ctx, this.#newVersion(name, existing, v, 'importKey'), v);
  }

  getKey(name: string, version?: string): Json {
    const key = this.#live(name);
    return keyBundle(this.ctx, key, this.#version(key, version));
  }

  /** `PATCH /keys/{name}[/{version}]`: attributes, key_ops, tags, release policy. */
  updateKey(name: string, version: string | undefined, body: unknown): Json {
    const b = object(body, 'The request body');
    const key = this.#live(name);
    const v = this.#version(key, version);
    const attrs = requestAttributes(b['attributes']);
    if (attrs.exportable !== undefined && attrs.exportable !== v.attributes.exportable) {
      throw badParameter('AKV.SKR.1014: Cannot modify the exportable state of a key.');
    }
    let policy: StoredReleasePolicy | undefined;
    if (hasPolicyData(b['release_policy'])) {
      policy = acceptReleasePolicy(b['release_policy']);
      const current = v.releasePolicy;
      if (current?.immutable === true && (policy.data !== current.data || !policy.immutable)) {
        throw badParameter(
          `The release policy of key ${name}/${v.version} is immutable and cannot be changed or made mutable.`,
        );
      }
    }
    const ops =
      b['key_ops'] === undefined || b['key_ops'] === null ? undefined : keyOps(b['key_ops'], v.keyOps);
    const newTags = tags(b['tags']);
    if (attrs.enabled !== undefined) v.attributes.enabled = attrs.enabled;
    if (attrs.nbf !== undefined) v.attributes.nbf = attrs.nbf;
    if (attrs.exp !== undefined) v.attributes.exp = attrs.exp;
    if (ops !== undefined) v.keyOps = ops;
    if (newTags !== undefined) v.tags = newTags;
    if (policy !== undefined) v.releasePolicy = policy;
    v.attributes.updated = this.#nowSeconds();
    this.#commit('updateKey');
    return keyBundle(this.ctx, key, v);
  }

  listKeys(query: URLSearchParams, apiVersion: string): Page<Json> {
    this.#expirePurges();
    const keys = Object.values(this.#state.keys)
      .filter((k) => k.deleted === undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
    return page(
      keys.map((k) => keyItem(this.ctx, k)),
      query,
      { url: `${this.ctx.baseUrl}/keys`, apiVersion },
    );
  }

  listVersions(name: string, query: URLSearchParams, apiVersion: string): Page<Json> {
    const key = this.#live(name);
    return page(
      key.versions.map((v) => versionItem(this.ctx, key, v)),
      query,
      { url: `${this.ctx.baseUrl}/keys/${name}/versions`, apiVersion },
    );
  }

  /** `DELETE /keys/{name}`: soft delete, visible at once under /deletedkeys. */
  deleteKey(name: string): Json {
    const key = this.#live(name);
    const now = this.#nowSeconds();
    key.deleted = { deletedDate: now, scheduledPurgeDate: now + this.ctx.recoverableDays * 86_400 };
    this.#commit('deleteKey');
    return deletedKeyBundle(this.ctx, key);
  }

  listDeletedKeys(query: URLSearchParams, apiVersion: string): Page<Json> {
    this.#expirePurges();
    const keys = Object.values(this.#state.keys)
      .filter((k) => k.deleted !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
    return page(
      keys.map((k) => deletedKeyItem(this.ctx, k)),
      query,
      { url: `${this.ctx.baseUrl}/deletedkeys`, apiVersion },
    );
  }

  getDeletedKey(name: string): Json {
    return deletedKeyBundle(this.ctx, this.#deleted(name));
  }

  purgeDeletedKey(name: string): void {
    this.#deleted(name);
    delete this.#state.keys[name];
    this.#commit('purgeDeletedKey');
  }

  recoverDeletedKey(name: string): Json {
    const key = this.#deleted(name);
    delete key.deleted;
    this.#commit('recoverDeletedKey');
    return keyBundle(this.ctx, key);
  }

  /** `POST /keys/{name}/rotate`: a new version like the current one, release policy included. */
  async rotateKey(name: string): Promise<Json> {
    const current = latestVersion(this.#live(name));
    const spec: KeySpec = {
      kty: current.kty,
      family: familyOf(current.kty),
      hsm: current.kty.endsWith('-HSM'),
    };
    if (current.keySize !== undefined) spec.keySize = current.keySize;
    if (current.crv !== undefined) spec.crv = current.crv;
    const material = await generateMaterial(spec);
    const key = this.#live(name);
    const now = this.#nowSeconds();
    const v: StoredVersion = {
      version: crypto.randomBytes(16).toString('hex'),
      kty: current.kty,
      keyOps: [...current.keyOps],
      material: encodeMaterial(material),
      attributes: { enabled: true, created: now, updated: now, exportable: current.attributes.exportable },
    };
    if (spec.keySize !== undefined) v.keySize = spec.keySize;
    if (spec.crv !== undefined) v.crv = spec.crv;
    if (current.tags !== undefined) v.tags = { ...current.tags };
    if (current.releasePolicy !== undefined) v.releasePolicy = { ...current.releasePolicy };
    return keyBundle(this.ctx, this.#newVersion(name, key, v, 'rotateKey'), v);
  }

  getRotationPolicy(name: string): Json {
    const key = this.#live(name);
    return rotationPolicyWire(`${this.ctx.baseUrl}/keys/${name}/rotationpolicy`, key.rotationPolicy);
  }

  setRotationPolicy(name: string, body: unknown): Json {
    const key = this.#live(name);
    const accepted = acceptRotationPolicy(body);
    const now = this.#nowSeconds();
    key.rotationPolicy = { ...accepted, created: key.rotationPolicy?.created ?? now, updated: now };
    this.#commit('setRotationPolicy');
    return rotationPolicyWire(`${this.ctx.baseUrl}/keys/${name}/rotationpolicy`, key.rotationPolicy);
  }

  /**
   * `POST /keys/{name}[/{version}]/release`: Secure Key Release. The key must be an enabled, exportable
   * key with a release policy; the target token must verify and satisfy the policy (attestation.ts);
   * the key is wrapped to the first suitable key of the token's `x-ms-runtime` (core selectWrappingKey)
   * per `enc` (default CKM_RSA_AES_KEY_WRAP) and answered as a JWS signed by the vault.
   */
  async releaseKey(
    name: string,
    version: string | undefined,
    body: unknown,
    apiVersion: string,
  ): Promise<{ value: string }> {
    const b = object(body, 'The request body');
    const key = this.#live(name);
    const v = this.#version(key, version);
    const enc = b['enc'] ?? 'CKM_RSA_AES_KEY_WRAP';
    if (!isKeyHsmEnc(enc)) {
      throw badParameter(
        `Invalid enc value ${JSON.stringify(enc)}. Supported: ${Object.keys(KEY_HSM_ENCS).join(', ')}.`,
      );
    }
    const nonce = b['nonce'];
    if (nonce !== undefined && nonce !== null && typeof nonce !== 'string')
      throw badParameter('nonce must be a string.');
    if (!v.attributes.exportable || v.releasePolicy === undefined) {
      throw badParameter(
        `Key ${name}/${v.version} is not exportable: only keys created with exportable=true and a release policy can be released.`,
      );
    }
    const now = this.#nowSeconds();
    if (!v.attributes.enabled) throw forbidden('Operation release is not allowed on a disabled key.');
    if (v.attributes.exp !== undefined && now > v.attributes.exp)
      throw forbidden('Operation release is not allowed on an expired key.');
    if (v.attributes.nbf !== undefined && now < v.attributes.nbf)
      throw forbidden('Operation release is not allowed on a key that is not yet valid.');
    const claims = await verifyTarget(b['target'], storedPolicy(v.releasePolicy), {
      keys: this.#o.attestationKeys,
      nowSeconds: now,
      ...(this.#o.attestationSkewSeconds === undefined
        ? {}
        : { skewSeconds: this.#o.attestationSkewSeconds }),
    });
    let wrapping: ReturnType<typeof selectWrappingKey>;
    try {
      wrapping = selectWrappingKey(claims['x-ms-runtime']);
    } catch (err) {
      if (!(err instanceof RuntimeDataError)) throw err;
      throw badParameter(
        `The target attestation token holds no key to wrap the released key to: ${err.message}${err.hint === undefined ? '' : ` (${err.hint})`}.`,
      );
    }
    const material = decodeMaterial(v.material, v.kty);
    const plaintext = vaultPlaintext(material);
    let keyHsm: string;
    try {
      keyHsm = wrapKeyHsm(plaintext, wrapping.publicKey, { enc, kid: wrapping.kid });
    } finally {
      plaintext.fill(0);
    }
    const { kty: _kty, ...publicMembers } = vaultPublicJwk(material) as Record<string, unknown>;
    const { hsmPlatform: _platform, ...attributes } = attributesOf(this.ctx, v);
    const value = releaseJws(
      this.#o.signer,
      {
        apiVersion,
        enc,
        kid: keyId(this.ctx, name, v.version),
        ...(typeof nonce === 'string' ? { nonce } : {}),
      },
      {
        attributes,
        publicMembers,
        keyHsm,
        keyOps: v.keyOps,
        kty: familyOf(v.kty),
        releasePolicy: v.releasePolicy,
      },
    );
    return { value };
  }
}
