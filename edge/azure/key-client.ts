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
import { setTimeout as timerSleep } from 'node:timers/promises';
import { endpointOf, retryAfterDeadline, retryAfterMs } from '../http/client.ts';
import { httpsAgent } from '../http/https-agent.ts';
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
type PipelinePolicy = NonNullable<KeyClientOptions['additionalPolicies']>[number]['policy'];

/** A caller with a deadline: the vault's Retry-After is obeyed within it, and ends the call when past it. */
export interface RetryAfterOptions {
  /** Epoch ms. */
  deadline: number;
  /** How to wait (tests record the delays). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Throttled answers one call rides out before the SDK's own retry policy sees one. */
const MAX_THROTTLED = 5;

/**
 * The vault's 429/503 with Retry-After, for a caller with a deadline. The SDK's retry policy waits what
 * Retry-After says too, but not against a deadline: a wait past it would only end when the caller's abort
 * signal fires, as a bare AbortError that no longer says the vault is throttling or when it will answer.
 * This policy runs inside the SDK's retry loop (per retry), before the SDK sees the answer: it waits and
 * asks again while the wait ends before the deadline, and otherwise fails at once, saying when to retry.
 */
function retryAfterPolicy(o: RetryAfterOptions): PipelinePolicy {
  const sleep = o.sleep ?? ((ms, signal) => timerSleep(ms, undefined, signal ? { signal } : {}));
  return {
    name: 'securekeyRetryAfter',
    async sendRequest(request, next) {
      for (let throttled = 0; ; throttled++) {
        const response = await next(request);
        if (response.status !== 429 && response.status !== 503) return response;
        const wait = retryAfterMs(response.headers.get('retry-after'));
        if (wait === undefined || throttled >= MAX_THROTTLED) return response;
        if (Date.now() + wait >= o.deadline) {
          const endpoint = endpointOf(request.url);
          throw retryAfterDeadline(`${request.method} ${endpoint}: the vault answered ${response.status}`, {
            endpoint,
            status: response.status,
            retryAt: new Date(Date.now() + wait),
          });
        }
        await sleep(wait, request.abortSignal as AbortSignal | undefined); // a real one: ours
      }
    },
  };
}

export interface KeyClientForOptions {
  /** `https://<vault>.vault.azure.net`, `https://<hsm>.managedhsm.azure.net`, or a simulated vault. */
  vaultUrl: string;
  credential: TokenCredential;
  /** Trust only this CA (a simulator's); omit for the system roots. */
  caPem?: string;
  retryOptions?: RetryOptions;
  /** Obey the vault's Retry-After within this deadline, and fail at once past it. */
  retryAfter?: RetryAfterOptions;
  /** api-version; the SDK's default (2025-07-01) when omitted. */
  serviceVersion?: KeyClientOptions['serviceVersion'];
}

/** The real `KeyClient`, over our agent. */
export function keyClientFor(options: KeyClientForOptions): KeyClient {
  const clientOptions: KeyClientOptions = { agent: httpsAgent({ caPem: options.caPem }) };
  if (options.retryOptions !== undefined) clientOptions.retryOptions = options.retryOptions;
  if (options.serviceVersion !== undefined) clientOptions.serviceVersion = options.serviceVersion;
  if (options.retryAfter !== undefined) {
    clientOptions.additionalPolicies = [
      { policy: retryAfterPolicy(options.retryAfter), position: 'perRetry' },
    ];
  }
  return new (requireKeyVaultSdk().KeyClient)(options.vaultUrl, options.credential, clientOptions);
}
