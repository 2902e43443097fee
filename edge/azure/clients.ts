/**
 * Factories for the real Azure SDK clients, wired to httpsAgent (loopback names, optional CA) so the
 * same code talks to Azure and to the SecureKey simulators. Nothing here changes what the SDK checks:
 * the Key Vault client keeps its challenge-resource verification (simulated vaults live under
 * `.vault.localhost` / `.managedhsm.localhost`, see docs/adr/0007-simulated-vault-hostnames.md).
 *
 * The SDK is loaded when a factory first needs it, not when this module is imported: it is ~500
 * modules, most of a process's start-up, and the agent (everything that imports edge/azure) has other
 * work to start first (bench/README.md, "Agent"). It is loaded with `require`, i.e. the packages' own
 * CommonJS builds (the same sources; Node loads them markedly faster than the ESM builds). Only this
 * module holds SDK values; everything else imports SDK *types*, so there is one copy of each class.
 */
import { createRequire } from 'node:module';
import type { Agent } from 'node:https';
import type {
  ClientAssertionCredential,
  ClientSecretCredential,
  TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import type * as IdentitySdk from '@azure/identity';
import type { KeyClient, KeyClientOptions } from '@azure/keyvault-keys';
import type * as KeyVaultSdk from '@azure/keyvault-keys';
import { httpsAgent } from './https-agent.ts';

const require = createRequire(import.meta.url);
let identity: typeof IdentitySdk | undefined;
let keyVault: typeof KeyVaultSdk | undefined;

/** `@azure/identity`, loaded on first use. */
function identitySdk(): typeof IdentitySdk {
  return (identity ??= require('@azure/identity') as typeof IdentitySdk);
}

/** `@azure/keyvault-keys`, loaded on first use. */
function keyVaultSdk(): typeof KeyVaultSdk {
  return (keyVault ??= require('@azure/keyvault-keys') as typeof KeyVaultSdk);
}

/**
 * Loads the SDK now (synchronously), so a caller can choose the moment: the agent does it while it
 * waits on the network, and an image build does it to fill V8's compile cache.
 */
export function preloadAzureSdk(which: { identity?: boolean; keyVault?: boolean } = {}): void {
  const all = which.identity === undefined && which.keyVault === undefined;
  if (all || which.identity) identitySdk();
  if (all || which.keyVault) keyVaultSdk();
}

export type RetryOptions = NonNullable<KeyClientOptions['retryOptions']>;

export interface KeyClientForOptions {
  /** `https://<vault>.vault.azure.net`, `https://<hsm>.managedhsm.azure.net`, or a simulated vault. */
  vaultUrl: string;
  credential: TokenCredential;
  /** Trust only this CA (a simulator's); omit for the system roots. */
  caPem?: string;
  retryOptions?: RetryOptions;
  /** api-version; the SDK's default (2025-07-01) when omitted. */
  serviceVersion?: KeyClientOptions['serviceVersion'];
}

/** The real `KeyClient`, over our agent. */
export function keyClientFor(options: KeyClientForOptions): KeyClient {
  const clientOptions: KeyClientOptions = { agent: httpsAgent(caOf(options.caPem)) };
  if (options.retryOptions !== undefined) clientOptions.retryOptions = options.retryOptions;
  if (options.serviceVersion !== undefined) clientOptions.serviceVersion = options.serviceVersion;
  return new (keyVaultSdk().KeyClient)(options.vaultUrl, options.credential, clientOptions);
}

/** What every Entra credential factory takes besides the secret or assertion. */
export interface EntraClientOptions {
  tenantId: string;
  clientId: string;
  /** Entra authority host; `https://login.microsoftonline.com` when omitted. */
  authorityHost?: string;
  /** Trust only this CA (a simulator's); omit for the system roots. */
  caPem?: string;
  retryOptions?: RetryOptions;
}

export interface WorkloadIdentityOptions extends EntraClientOptions {
  /** The projected service-account token (AZURE_FEDERATED_TOKEN_FILE). */
  tokenFilePath: string;
}

let microsoftAuthorityHosts: Set<string> | undefined;
const isMicrosoftAuthority = (host: string): boolean =>
  (microsoftAuthorityHosts ??= new Set(
    Object.values(identitySdk().AzureAuthorityHosts).map((u) => new URL(u).host),
  )).has(host);

/**
 * Options every credential gets. Instance discovery is turned off for any authority that is not one of
 * Microsoft's clouds: MSAL would otherwise ask the hard-coded login.microsoftonline.com whether the
 * authority is known, which never reaches a simulator (and fails offline).
 */
function credentialOptions(o: EntraClientOptions): {
  agent: Agent;
  authorityHost?: string;
  disableInstanceDiscovery?: boolean;
  retryOptions?: RetryOptions;
} {
  const result: ReturnType<typeof credentialOptions> = { agent: httpsAgent(caOf(o.caPem)) };
  if (o.authorityHost !== undefined) {
    result.authorityHost = o.authorityHost;
    if (!isMicrosoftAuthority(new URL(o.authorityHost).host)) result.disableInstanceDiscovery = true;
  }
  if (o.retryOptions !== undefined) result.retryOptions = o.retryOptions;
  return result;
}

/** AKS workload identity: the federated service-account token file is the client assertion. */
export function workloadIdentityCredential(options: WorkloadIdentityOptions): WorkloadIdentityCredential {
  return new (identitySdk().WorkloadIdentityCredential)({
    ...credentialOptions(options),
    tenantId: options.tenantId,
    clientId: options.clientId,
    tokenFilePath: options.tokenFilePath,
  });
}

/** A client assertion from any source (for example a token read from elsewhere than a file). */
export function clientAssertionCredential(
  options: EntraClientOptions & { getAssertion: () => Promise<string> },
): ClientAssertionCredential {
  return new (identitySdk().ClientAssertionCredential)(
    options.tenantId,
    options.clientId,
    options.getAssertion,
    credentialOptions(options),
  );
}

/** A client secret; for operators outside AKS and for the sandbox. */
export function clientSecretCredential(
  options: EntraClientOptions & { clientSecret: string },
): ClientSecretCredential {
  return new (identitySdk().ClientSecretCredential)(
    options.tenantId,
    options.clientId,
    options.clientSecret,
    credentialOptions(options),
  );
}

function caOf(caPem: string | undefined): { caPem?: string } {
  return caPem === undefined ? {} : { caPem };
}
