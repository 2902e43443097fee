import type { TrustedIssuer } from '../common/jwt/issuer-keys.ts';

/** The audience a federated credential accepts unless configured otherwise (Entra's default). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** A federated identity credential: assertions from `issuer` about `subject` stand in for a secret. */
export interface FederatedCredential {
  name?: string;
  /** The assertion's `iss`, compared exactly (Entra matches case-sensitively). */
  issuer: string;
  /** The assertion's `sub`, e.g. `system:serviceaccount:<namespace>:<name>`. */
  subject: string;
  /** Accepted `aud` values; default [api://AzureADTokenExchange]. */
  audiences?: string[];
}

/** An app registration / managed identity the simulated tenant knows. */
export interface EntraApplication {
  clientId: string;
  /** The service principal's object id (the token's `oid`); defaults to the client id. */
  objectId?: string;
  displayName?: string;
  clientSecrets?: string[];
  federatedCredentials?: FederatedCredential[];
}

export interface EntraOptions {
  tenantId: string;
  applications: EntraApplication[];
  /**
   * Issuers of client assertions with configured keys (a cluster's service-account issuer whose
   * discovery document is not reachable); other issuers' keys are discovered through
   * `{issuer}/.well-known/openid-configuration`.
   */
  assertionIssuers?: TrustedIssuer[];
  /** CA trusted when discovering assertion issuers' keys; the system roots when omitted. */
  assertionIssuerCaPem?: string;
  /** Resources (scope without `/.default`) tokens may be issued for; any when omitted. */
  resources?: string[];
  /** Access-token lifetime; 3599 s as Entra's default. MSAL treats ≤ 300 s as already expired. */
  tokenLifetimeSeconds?: number;
  /** Clock skew tolerated on assertions, seconds. Default 300 (Entra's). */
  assertionSkewSeconds?: number;
  now?: () => number;
}
