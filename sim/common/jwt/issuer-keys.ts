/**
 * An issuer's signing keys, found the way Entra (for federated credentials) and Key Vault (for
 * attestation tokens) find them: `{iss}/.well-known/openid-configuration` → `jwks_uri` → JWKS, fetched
 * over HTTPS trusting a configured CA, cached for a while, and fetched again when a token names a `kid`
 * the cache does not know (key rollover). Issuers can also be given fixed keys (a cluster whose
 * service-account issuer is not reachable) or a fixed `jwks_uri`.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Agent } from 'node:https';
import { httpRequest, jsonBody } from '../../../edge/http/client.ts';
import { httpsAgent } from '../../../edge/http/https-agent.ts';
import { trimTrailingSlash } from '../../../core/policy/index.ts';
import { TokenError } from './errors.ts';

export type Jwk = Record<string, unknown>;
export interface Jwks {
  keys: Jwk[];
}

/** An issuer whose keys are configured rather than discovered. */
export interface TrustedIssuer {
  issuer: string;
  /** Fixed keys. */
  jwks?: Jwks;
  /** Fixed JWKS address (skips the metadata document). */
  jwksUri?: string;
}

export interface IssuerKeysOptions {
  /** CA for fetching metadata and keys; the system roots when omitted. */
  caPem?: string;
  /** Issuers with configured keys or JWKS addresses. */
  trusted?: TrustedIssuer[];
  /** Discover keys of issuers not in `trusted`. Default true. */
  discover?: boolean;
  /** How long fetched keys are used before fetching again. Default 10 minutes. */
  ttlMs?: number;
  /** An unknown `kid` refetches at most this often. Default 10 seconds. */
  minRefreshMs?: number;
  timeoutMs?: number;
  now?: () => number;
  /**
   * Refuse tokens whose header names no `kid` (Key Vault: "the token header kid must match a signing
   * key"). Off for Entra client assertions, where a single-key issuer may omit it.
   */
  requireKid?: boolean;
  /**
   * Attestation issuers, as Key Vault reads them: every usable JWK must carry `kid`, `kty` and `x5c`, the
   * key is taken from `x5c[0]`, and a JWK whose `n`/`e` (or `x`/`y`) disagree with that certificate is
   * skipped. Off for Entra, whose service-account issuers publish bare keys.
   */
  requireX5c?: boolean;
}

interface CachedKeys {
  jwksUri: string;
  keys: Map<string, KeyObject>;
  /** Keys without a kid, usable only when the JWKS holds exactly one key. */
  only: KeyObject | undefined;
  fetchedAt: number;
}

/**
 * The key of a JWK as Key Vault reads an attestation issuer's: from `x5c[0]`, which must be present with a
 * kid; public members, when also present, must describe the same key.
 */
export function publicKeyOfAttestationJwk(jwk: Jwk): KeyObject {
  const x5c = jwk['x5c'];
  if (
    typeof jwk['kid'] !== 'string' ||
    typeof jwk.kty !== 'string' ||
    !Array.isArray(x5c) ||
    typeof x5c[0] !== 'string'
  ) {
    throw new Error('an attestation signing key needs kid, kty and x5c');
  }
  const fromCert = new crypto.X509Certificate(Buffer.from(x5c[0], 'base64')).publicKey;
  const hasMembers = typeof jwk['n'] === 'string' || typeof jwk['x'] === 'string';
  if (hasMembers && !publicKeyOfJwk(jwk).equals(fromCert)) {
    throw new Error(`JWK ${jwk['kid']}: its public members do not match its x5c certificate`);
  }
  return fromCert;
}

/** The public key of one JWK: its RSA/EC members when present, otherwise its first `x5c` certificate. */
export function publicKeyOfJwk(jwk: Jwk): KeyObject {
  const { kty } = jwk;
  if (
    (kty === 'RSA' && typeof jwk['n'] === 'string' && typeof jwk['e'] === 'string') ||
    (kty === 'EC' && typeof jwk['x'] === 'string')
  ) {
    const members: Record<string, unknown> = { kty };
    for (const m of ['n', 'e', 'crv', 'x', 'y']) if (typeof jwk[m] === 'string') members[m] = jwk[m];
    return crypto.createPublicKey({ key: members as crypto.JsonWebKey, format: 'jwk' });
  }
  const x5c = jwk['x5c'];
  if (Array.isArray(x5c) && typeof x5c[0] === 'string') {
    return new crypto.X509Certificate(Buffer.from(x5c[0], 'base64')).publicKey;
  }
  throw new Error('the JWK has neither public key members nor an x5c certificate');
}

export class IssuerKeys {
  readonly #options: IssuerKeysOptions;
  readonly #agent: Agent;
  readonly #cache = new Map<string, CachedKeys>();
  readonly #inflight = new Map<string, Promise<CachedKeys>>();
  readonly #trusted = new Map<string, TrustedIssuer>();

  constructor(options: IssuerKeysOptions = {}) {
    this.#options = options;
    this.#agent = httpsAgent({
      ...(options.caPem === undefined ? {} : { caPem: options.caPem }),
      keepAlive: false,
    });
    for (const t of options.trusted ?? []) this.#trusted.set(trimTrailingSlash(t.issuer), t);
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** True when keys for this issuer can be had (configured, or discovery allowed). */
  knows(issuer: string): boolean {
    return this.#trusted.has(trimTrailingSlash(issuer)) || this.#options.discover !== false;
  }

  /** The key that signed a token of `issuer` with header `kid`. Throws TokenError. */
  async keyFor(issuer: string, kid: unknown): Promise<KeyObject> {
    // Refused before any key is fetched: a token without a kid needs no discovery round-trip.
    if (this.#options.requireKid === true && typeof kid !== 'string') {
      throw new TokenError(
        'unknown-key',
        `the token header names no kid; ${issuer} tokens must name their signing key`,
      );
    }
    const id = trimTrailingSlash(issuer);
    let cached = this.#cache.get(id);
    const ttl = this.#options.ttlMs ?? 600_000;
    if (cached === undefined || this.#now() - cached.fetchedAt > ttl) cached = await this.#load(id);
    let key = pick(cached, kid);
    if (key === undefined && this.#now() - cached.fetchedAt > (this.#options.minRefreshMs ?? 10_000)) {
      cached = await this.#load(id);
      key = pick(cached, kid);
    }
    if (key === undefined) {
      throw new TokenError(
        'unknown-key',
        typeof kid === 'string'
          ? `no key with kid ${JSON.stringify(kid)} in the JWKS of ${issuer} (${cached.jwksUri})`
          : `the token names no kid and the JWKS of ${issuer} (${cached.jwksUri}) holds ${cached.keys.size} keys`,
      );
    }
    return key;
  }

  #load(id: string): Promise<CachedKeys> {
    const running = this.#inflight.get(id);
    if (running !== undefined) return running;
    const p = this.#fetch(id).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, p);
    return p;
  }

  async #fetch(id: string): Promise<CachedKeys> {
    const trusted = this.#trusted.get(id);
    if (trusted?.jwks !== undefined) return this.#store(id, 'configured keys', trusted.jwks);
    if (trusted === undefined && this.#options.discover === false) {
      throw new TokenError('discovery-failed', `issuer ${id} is not trusted`);
    }
    const get = (url: string) => this.#getJson(url);
    let jwksUri = trusted?.jwksUri;
    if (jwksUri === undefined) {
      const metadataUrl = `${id}/.well-known/openid-configuration`;
      let metadata: unknown;
      try {
        metadata = await get(metadataUrl);
      } catch (err) {
        throw new TokenError(
          'discovery-failed',
          `the OpenID metadata of ${id} could not be fetched: ${(err as Error).message}`,
        );
      }
      const uri =
        typeof metadata === 'object' && metadata !== null
          ? (metadata as Record<string, unknown>)['jwks_uri']
          : undefined;
      if (typeof uri !== 'string') throw new TokenError('discovery-failed', `${metadataUrl} has no jwks_uri`);
      jwksUri = uri;
    }
    let jwks: unknown;
    try {
      jwks = await get(jwksUri);
    } catch (err) {
      throw new TokenError(
        'discovery-failed',
        `the keys of ${id} could not be fetched: ${(err as Error).message}`,
      );
    }
    const keys =
      typeof jwks === 'object' && jwks !== null ? (jwks as Record<string, unknown>)['keys'] : undefined;
    if (!Array.isArray(keys))
      throw new TokenError('discovery-failed', `${jwksUri} is not a JWKS (no keys array)`);
    return this.#store(id, jwksUri, { keys: keys as Jwk[] });
  }

  /** A small JSON document over https only, trusting the configured CA (1 MiB at most, as Entra's reads). */
  async #getJson(url: string): Promise<unknown> {
    if (!url.startsWith('https://')) throw new Error(`${url} is not an https URL`);
    const res = await httpRequest(url, {
      agent: this.#agent,
      headers: { accept: 'application/json' },
      timeoutMs: this.#options.timeoutMs ?? 5000,
    });
    if (res.status !== 200) throw new Error(`${url} answered HTTP ${res.status}`);
    const doc = jsonBody(res);
    if (doc === undefined) throw new Error(`${url} did not answer JSON`);
    return doc;
  }

  #store(id: string, jwksUri: string, jwks: Jwks): CachedKeys {
    const keys = new Map<string, KeyObject>();
    const usable: KeyObject[] = [];
    for (const jwk of jwks.keys) {
      let key: KeyObject;
      try {
        key = this.#options.requireX5c === true ? publicKeyOfAttestationJwk(jwk) : publicKeyOfJwk(jwk);
      } catch {
        continue; // a key we cannot read cannot have signed anything we accept
      }
      usable.push(key);
      if (typeof jwk['kid'] === 'string') keys.set(jwk['kid'], key);
    }
    const entry: CachedKeys = {
      jwksUri,
      keys,
      only: usable.length === 1 ? usable[0] : undefined,
      fetchedAt: this.#now(),
    };
    this.#cache.set(id, entry);
    return entry;
  }

  /** Drops cached keys (tests rotate issuer keys). */
  forget(): void {
    this.#cache.clear();
  }

  close(): void {
    this.#agent.destroy();
  }
}

function pick(cached: CachedKeys, kid: unknown): KeyObject | undefined {
  if (typeof kid === 'string') return cached.keys.get(kid);
  return cached.only;
}
