/**
 * Factories for the Entra credentials (@azure/identity), wired to httpsAgent (loopback names, optional
 * CA) so the same code talks to Entra and to the simulated Entra; the Key Vault client is in
 * key-client.ts (index.ts exports both). Both SDKs load when a factory first needs them, not at import: they
 * are hundreds of modules, most of a process's start-up (bench/README.md, "Agent"). They are loaded with
 * `require`, i.e. the packages' own CommonJS builds, which Node loads markedly faster than the ESM builds.
 * Only these modules hold SDK values; everything else imports SDK *types*, so there is one copy of each
 * class. The agent uses key-client.ts alone (its identity is its own, ADR 18).
 */
import { createRequire } from 'node:module';
import type { Agent } from 'node:https';
import type {
  ClientAssertionCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import type * as IdentitySdk from '@azure/identity';
import { httpsAgent } from '../http/https-agent.ts';
import { preloadKeyVaultSdk, type RetryOptions } from './key-client.ts';

const require = createRequire(import.meta.url);
let identity: typeof IdentitySdk | undefined;

/** `@azure/identity`, loaded on first use. */
function identitySdk(): typeof IdentitySdk {
  return (identity ??= require('@azure/identity') as typeof IdentitySdk);
}

/** Loads both SDKs now (synchronously): the operator image's build does it to fill V8's compile cache. */
export function preloadAzureSdk(): void {
  identitySdk();
  preloadKeyVaultSdk();
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
  const result: ReturnType<typeof credentialOptions> = { agent: httpsAgent({ caPem: o.caPem }) };
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

/**
 * A person's own identity for the CLI (`az login`, AZURE_* variables, a managed identity): the SDK's
 * DefaultAzureCredential chain. Never the operator's: it is explicit about its identity (operator/config.ts).
 */
export function defaultAzureCredential(
  options: Omit<EntraClientOptions, 'tenantId' | 'clientId'> & { tenantId?: string } = {},
): DefaultAzureCredential {
  return new (identitySdk().DefaultAzureCredential)({
    ...credentialOptions({ ...options, tenantId: options.tenantId ?? '', clientId: '' }),
    ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
  });
}
