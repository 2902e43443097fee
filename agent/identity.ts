/**
 * The identity's vault token, fetched while the runtime key is generated and the report is
 * made, instead of after attestation when the first release would ask for it. The Key Vault client
 * learns the scope from the vault's 401 challenge (`resource` + `/.default`); vault hosts are
 * `<name>.<resource host>` (vault.azure.net, managedhsm.azure.net, and the simulators' .localhost
 * twins, ADR 0007), so the scope is known in advance. A token for another scope, or a CAE claims
 * challenge, goes to the real credential as before.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { AgentIdentity } from './config.ts';
import { FederatedTokenCredential } from './federated-credential.ts';
import { ManagedIdentityTokenCredential } from './managed-identity-credential.ts';

/**
 * The configured identity's credential: AKS workload identity (the projected token file is the client
 * assertion), or a managed identity through IMDS (ACI, VN2). The CA applies to Entra only: IMDS is plain
 * HTTP on a link-local address.
 */
export function agentCredential(
  identity: AgentIdentity,
  o: { caPem?: string; deadline?: number } = {},
): TokenCredential {
  if (identity.kind === 'managed') {
    return new ManagedIdentityTokenCredential({
      imdsUrl: identity.imdsUrl,
      ...(identity.clientId === undefined ? {} : { clientId: identity.clientId }),
      ...(identity.resourceId === undefined ? {} : { resourceId: identity.resourceId }),
      ...(o.deadline === undefined ? {} : { deadline: o.deadline }),
    });
  }
  return new FederatedTokenCredential({
    tenantId: identity.tenantId,
    clientId: identity.clientId,
    tokenFile: identity.tokenFile,
    ...(identity.authorityHost === undefined ? {} : { authorityHost: identity.authorityHost }),
    ...o,
  });
}

/** Who the identity is, for messages: a client id, a managed identity's resource id, or the default one. */
export function identityName(identity: AgentIdentity): string {
  if (identity.kind === 'workload') return identity.clientId;
  return identity.clientId ?? identity.resourceId ?? 'the managed identity assigned to this resource';
}

/** `https://kv1.vault.azure.net` → `https://vault.azure.net/.default`. */
export function vaultScope(vaultUrl: string): string {
  const host = new URL(vaultUrl).hostname;
  const dot = host.indexOf('.');
  return `https://${dot === -1 ? host : host.slice(dot + 1)}/.default`;
}

/** Tokens this close to expiry are not handed out from the prefetch. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

export class PrefetchingCredential implements TokenCredential {
  readonly #inner: TokenCredential;
  readonly #tokens = new Map<string, Promise<AccessToken | null>>();

  constructor(inner: TokenCredential) {
    this.#inner = inner;
  }

  /** Starts fetching a token for each scope; resolves when they are there, rejects as the credential does. */
  async prefetch(scopes: readonly string[]): Promise<void> {
    for (const scope of scopes) {
      if (!this.#tokens.has(scope)) this.#tokens.set(scope, this.#inner.getToken(scope, { enableCae: true }));
    }
    await Promise.all(scopes.map((scope) => this.#tokens.get(scope)));
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const list = Array.isArray(scopes) ? scopes : [scopes];
    const prefetched = list.length === 1 ? this.#tokens.get(list[0]!) : undefined;
    if (prefetched && options?.claims === undefined) {
      const token = await prefetched.catch(() => null);
      if (token && token.expiresOnTimestamp - Date.now() > EXPIRY_MARGIN_MS) return token;
    }
    return this.#inner.getToken(scopes, options);
  }
}
