/**
 * The simulated Entra ID tenant: OpenID metadata, signing keys, and the client-credentials token
 * endpoint with client secrets and federated (workload identity) client assertions. Pure apart from
 * fetching assertion issuers' keys; the HTTP layer is app.ts.
 *
 * Access tokens are v1-shaped like the ones Key Vault receives from real Entra: RS256, header
 * `{typ, alg, x5t, kid}`, `iss` = `<authority>/<tenant>/` (the simulator's stand-in for
 * `https://sts.windows.net/<tenant>/`), `aud` = the requested resource, `appid`/`oid`/`sub`/`tid`,
 * `ver: "1.0"`. The OpenID metadata says so: `/{tenant}/.well-known/openid-configuration` has that
 * issuer, `/{tenant}/v2.0/.well-known/openid-configuration` the v2 one (`<authority>/{tenantid}/v2.0`),
 * and both point at the same keys.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { TOKEN_EXCHANGE_AUDIENCE } from './config.ts';
import type { EntraApplication, EntraOptions, FederatedCredential } from './config.ts';
import { EntraRejection, missingParameter } from './entra-errors.ts';
import type { EntraErrorResult } from './entra-errors.ts';
import { TokenError } from '../common/jwt/errors.ts';
import { IssuerKeys } from '../common/jwt/issuer-keys.ts';
import type { Jwks } from '../common/jwt/issuer-keys.ts';
import { audiences, decodeJwt, isoSeconds, signJwt } from '../common/jwt/jwt.ts';
import type { DecodedJwt } from '../common/jwt/jwt.ts';
import { verifyDecodedJwt } from '../common/jwt/verify-jwt.ts';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface SigningMaterial {
  key: KeyObject;
  /** DER of the signing certificate, published as `x5c`. */
  certDer: Buffer;
}

export interface TokenSuccess {
  status: 200;
  body: { token_type: 'Bearer'; expires_in: number; ext_expires_in: number; access_token: string };
}

export interface EntraCounters {
  /** Token requests naming each client id, successful or not. */
  tokenRequests: Record<string, number>;
  /** Access tokens issued per client id. */
  tokensIssued: Record<string, number>;
  metadataRequests: number;
}

export class EntraService {
  readonly options: EntraOptions;
  readonly baseUrl: string;
  readonly kid: string;
  readonly counters: EntraCounters = { tokenRequests: {}, tokensIssued: {}, metadataRequests: 0 };
  readonly #signing: SigningMaterial;
  readonly #issuerKeys: IssuerKeys;

  constructor(options: EntraOptions, baseUrl: string, signing: SigningMaterial) {
    this.options = options;
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.#signing = signing;
    // Entra's kid is the certificate's SHA-1 thumbprint, base64url (also sent as x5t).
    this.kid = crypto.createHash('sha1').update(signing.certDer).digest('base64url');
    this.#issuerKeys = new IssuerKeys({
      ...(options.assertionIssuerCaPem === undefined ? {} : { caPem: options.assertionIssuerCaPem }),
      trusted: options.assertionIssuers ?? [],
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  /** `iss` of the access tokens this tenant issues. */
  get accessTokenIssuer(): string {
    return `${this.baseUrl}/${this.tenantId}/`;
  }

  #nowMs(): number {
    return (this.options.now ?? Date.now)();
  }

  #tenantCheck(tenant: string): void {
    if (tenant !== this.tenantId) {
      throw new EntraRejection(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
  }

  /** OpenID metadata; `v2` selects the v2.0 document MSAL reads. */
  openIdConfiguration(tenant: string, v2: boolean): Record<string, unknown> {
    this.#tenantCheck(tenant);
    this.counters.metadataRequests++;
    const t = `${this.baseUrl}/${tenant}`;
    return {
      token_endpoint: v2 ? `${t}/oauth2/v2.0/token` : `${t}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: v2 ? `${t}/discovery/v2.0/keys` : `${t}/discovery/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
      scopes_supported: ['openid'],
      issuer: v2 ? `${this.baseUrl}/{tenantid}/v2.0` : this.accessTokenIssuer,
      authorization_endpoint: v2 ? `${t}/oauth2/v2.0/authorize` : `${t}/oauth2/authorize`,
      tenant_region_scope: 'SIM',
      cloud_instance_name: 'securekey.simulator',
    };
  }

  /** The signing keys, as Entra publishes them (`kid` = `x5t`, `n`/`e` and `x5c`). */
  jwks(): Jwks {
    const { n, e } = crypto.createPublicKey(this.#signing.key).export({ format: 'jwk' });
    return {
      keys: [
        {
          kty: 'RSA',
          use: 'sig',
          kid: this.kid,
          x5t: this.kid,
          n,
          e,
          x5c: [this.#signing.certDer.toString('base64')],
          issuer: `${this.baseUrl}/${this.tenantId}/v2.0`,
        },
      ],
    };
  }

  /** MSAL's instance discovery answer, for clients that ask despite `disableInstanceDiscovery`. */
  instanceDiscovery(): Record<string, unknown> {
    const host = new URL(this.baseUrl).host;
    return {
      tenant_discovery_endpoint: `${this.baseUrl}/${this.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  /**
   * The token endpoint (v2 `scope`, or v1 `resource`). Never sends Retry-After: MSAL would cache it as a
   * throttle and fail later requests locally.
   */
  async token(
    tenant: string,
    form: Record<string, unknown>,
    correlationId: string,
  ): Promise<TokenSuccess | EntraErrorResult> {
    const nowMs = this.#nowMs();
    try {
      this.#tenantCheck(tenant);
      return await this.#issue(form, nowMs);
    } catch (err) {
      if (err instanceof EntraRejection) return err.toResult({ baseUrl: this.baseUrl, correlationId, nowMs });
      throw err;
    }
  }

  async #issue(form: Record<string, unknown>, nowMs: number): Promise<TokenSuccess> {
    const field = (name: string): string | undefined => {
      const v = form[name];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const grantType = field('grant_type');
    if (grantType === undefined) throw missingParameter('grant_type');
    const clientId = field('client_id');
    if (clientId !== undefined)
      this.counters.tokenRequests[clientId] = (this.counters.tokenRequests[clientId] ?? 0) + 1;
    if (grantType !== 'client_credentials') {
      throw new EntraRejection(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType}'.`,
      );
    }
    if (clientId === undefined) throw missingParameter('client_id');
    const app = this.options.applications.find((a) => a.clientId === clientId);
    if (app === undefined) {
      throw new EntraRejection(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const resource = this.#resource(field('scope'), field('resource'));
    const secret = field('client_secret');
    const assertion = field('client_assertion');
    let acr: '1' | '2';
    if (secret !== undefined) {
      this.#checkSecret(app, secret);
      acr = '1';
    } else if (assertion !== undefined) {
      const type = field('client_assertion_type');
      if (type === undefined) throw missingParameter('client_assertion_type');
      if (type !== JWT_BEARER) {
        throw new EntraRejection(
          400,
          'invalid_client',
          70002,
          `Error validating credentials. The client_assertion_type '${type}' is not supported; use ${JWT_BEARER}.`,
        );
      }
      await this.#checkAssertion(app, assertion, nowMs);
      acr = '2';
    } else {
      throw new EntraRejection(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    const accessToken = this.#accessToken(app, resource, acr, nowMs);
    this.counters.tokensIssued[clientId] = (this.counters.tokensIssued[clientId] ?? 0) + 1;
    const lifetime = this.options.tokenLifetimeSeconds ?? 3599;
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: accessToken,
      },
    };
  }

  /** The resource from a v2 `<resource>/.default` scope or a v1 `resource` parameter. */
  #resource(scope: string | undefined, resource: string | undefined): string {
    let r: string;
    if (scope !== undefined) {
      const scopes = scope
        .split(' ')
        .filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
      const [only] = scopes;
      if (scopes.length !== 1 || only === undefined || !only.endsWith('/.default')) {
        throw new EntraRejection(
          400,
          'invalid_scope',
          1002012,
          `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        );
      }
      r = only.slice(0, -'/.default'.length);
    } else if (resource !== undefined) {
      r = resource;
    } else {
      throw missingParameter('scope');
    }
    const allowed = this.options.resources;
    if (allowed !== undefined && !allowed.includes(r)) {
      throw new EntraRejection(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${r} was not found in the tenant named ${this.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    return r;
  }

  #checkSecret(app: EntraApplication, secret: string): void {
    const given = Buffer.from(secret, 'utf8');
    const ok = (app.clientSecrets ?? []).some((s) => {
      const known = Buffer.from(s, 'utf8');
      return known.length === given.length && crypto.timingSafeEqual(known, given);
    });
    if (!ok) {
      throw new EntraRejection(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    }
  }

  /**
   * Workload identity federation: the assertion must match one federated credential of the app
   * (issuer, then subject and audience, exactly), be signed by a key of its issuer, and be inside
   * its lifetime. The issuer is matched before any key is fetched, so an assertion cannot make the
   * simulator fetch from an address nobody configured.
   */
  async #checkAssertion(app: EntraApplication, assertion: string, nowMs: number): Promise<void> {
    let jwt: DecodedJwt;
    try {
      jwt = decodeJwt(assertion);
    } catch {
      throw new EntraRejection(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    }
    const { payload } = jwt;
    const iss = typeof payload['iss'] === 'string' ? payload['iss'] : '';
    const sub = typeof payload['sub'] === 'string' ? payload['sub'] : '';
    const auds = audiences(payload);
    const fics = app.federatedCredentials ?? [];
    if (fics.length === 0) {
      throw new EntraRejection(
        400,
        'invalid_request',
        70021,
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${auds.join(',')}'. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
    const byIssuer = fics.filter((f) => f.issuer === iss);
    if (byIssuer.length === 0) {
      throw new EntraRejection(
        401,
        'invalid_client',
        700211,
        `No matching federated identity record found for presented assertion issuer '${iss}'. Please note that the matching is done using case-sensitive comparison. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
    try {
      await verifyDecodedJwt(
        jwt,
        iss,
        this.#issuerKeys,
        Math.floor(nowMs / 1000),
        this.options.assertionSkewSeconds ?? 300,
      );
    } catch (err) {
      throw this.#assertionRejection(err, payload, nowMs);
    }
    const bySubject = byIssuer.filter((f) => f.subject === sub);
    if (bySubject.length === 0) {
      throw new EntraRejection(
        401,
        'invalid_client',
        700213,
        `No matching federated identity record found for presented assertion subject '${sub}'. Please note that the matching is done using case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
    if (
      !bySubject.some((f: FederatedCredential) =>
        (f.audiences ?? [TOKEN_EXCHANGE_AUDIENCE]).some((a) => auds.includes(a)),
      )
    ) {
      throw new EntraRejection(
        401,
        'invalid_client',
        700212,
        `No matching federated identity record found for presented assertion audience '${auds.join(',')}'. Please note that the matching is done using case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
      );
    }
  }

  #assertionRejection(err: unknown, payload: Record<string, unknown>, nowMs: number): EntraRejection {
    if (!(err instanceof TokenError))
      return new EntraRejection(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    switch (err.kind) {
      case 'expired':
      case 'not-yet-valid':
      case 'missing-exp': {
        const nbf = typeof payload['nbf'] === 'number' ? isoSeconds(payload['nbf']) : '(none)';
        const exp = typeof payload['exp'] === 'number' ? isoSeconds(payload['exp']) : '(none)';
        return new EntraRejection(
          401,
          'invalid_client',
          700024,
          `Client assertion is not within its valid time range. Current time: ${new Date(nowMs).toISOString()}, assertion valid from ${nbf}, expiry time of assertion ${exp}.`,
        );
      }
      case 'discovery-failed':
        return new EntraRejection(
          400,
          'invalid_request',
          90061,
          `Request to External OIDC endpoint failed. ${err.message}`,
        );
      case 'unknown-key':
      case 'bad-signature':
        return new EntraRejection(
          401,
          'invalid_client',
          700027,
          `Client assertion failed signature validation. ${err.message}`,
        );
      default:
        return new EntraRejection(
          400,
          'invalid_request',
          50027,
          `JWT token is invalid or malformed. ${err.message}`,
        );
    }
  }

  /**
   * An access token for a managed identity, as Entra issues it to IMDS on the identity's behalf (the
   * simulated IMDS, sim/imds, asks here): signed with the tenant's key like every other token, `appid` the
   * identity's client id, `oid` its principal id, `appidacr: "2"` and `xms_mirid` its resource id. Refuses
   * a resource the tenant does not know, as the token endpoint does.
   */
  managedIdentityToken(
    identity: { clientId: string; objectId?: string; resourceId: string },
    resource: string,
    lifetimeSeconds: number,
  ): { accessToken: string; issuedAt: number } {
    const r = this.#resource(undefined, resource);
    const nowMs = this.#nowMs();
    const accessToken = this.#accessToken(identity, r, '2', nowMs, {
      lifetime: lifetimeSeconds,
      extra: { xms_mirid: identity.resourceId },
    });
    this.counters.tokensIssued[identity.clientId] = (this.counters.tokensIssued[identity.clientId] ?? 0) + 1;
    return { accessToken, issuedAt: Math.floor(nowMs / 1000) };
  }

  #accessToken(
    app: Pick<EntraApplication, 'clientId' | 'objectId'>,
    resource: string,
    acr: '1' | '2',
    nowMs: number,
    o: { lifetime?: number; extra?: Record<string, string> } = {},
  ): string {
    const now = Math.floor(nowMs / 1000);
    const oid = app.objectId ?? app.clientId;
    const lifetime = o.lifetime ?? this.options.tokenLifetimeSeconds ?? 3599;
    return signJwt(
      { typ: 'JWT', x5t: this.kid, kid: this.kid },
      {
        aud: resource,
        iss: this.accessTokenIssuer,
        iat: now,
        nbf: now,
        exp: now + lifetime,
        appid: app.clientId,
        appidacr: acr,
        idp: this.accessTokenIssuer,
        idtyp: 'app',
        oid,
        sub: oid,
        tid: this.tenantId,
        uti: crypto.randomBytes(16).toString('base64url'),
        ver: '1.0',
        ...o.extra,
      },
      this.#signing.key,
    );
  }

  close(): void {
    this.#issuerKeys.close();
  }
}
