/**
 * The real Key Vault `KeyClient`, wired to httpsAgent (loopback names, optional CA) so the same code talks
 * to Azure and to the SecureKey simulators; its challenge-resource verification stays on (simulated vaults
 * live under `.vault.localhost` / `.managedhsm.localhost`, docs/adr/0007-simulated-vault-hostnames.md).
 *
 * The SDK is loaded when first needed, not when this module is imported (keyvault-sdk.ts). Kept apart from
 * the Entra credentials (clients.ts) so the agent, which uses only this, never loads or ships @azure/identity.
 */
import type { TokenCredential } from '@azure/identity';
import type { KeyClient, KeyClientOptions } from '@azure/keyvault-keys';
import { httpsAgent } from './https-agent.ts';
import { requireKeyVaultSdk } from './keyvault-sdk.ts';

/**
 * Loads the Key Vault SDK now (synchronously), and what its first request would otherwise load on the
 * way: its request-body check reads the global `FormData`, which makes Node load undici (15–30 ms cold). The
 * agent calls this while its runtime key pair is made, when its main thread would otherwise wait.
 */
export function preloadKeyVaultSdk(): void {
  requireKeyVaultSdk();
  void globalThis.FormData;
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
  const clientOptions: KeyClientOptions = { agent: httpsAgent({ caPem: options.caPem }) };
  if (options.retryOptions !== undefined) clientOptions.retryOptions = options.retryOptions;
  if (options.serviceVersion !== undefined) clientOptions.serviceVersion = options.serviceVersion;
  return new (requireKeyVaultSdk().KeyClient)(options.vaultUrl, options.credential, clientOptions);
}
