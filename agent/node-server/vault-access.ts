/**
 * What every node key source needs to reach the vault, built once per process from pod mode's settings:
 * the CA for Entra, the vault and THIM (simulators), one credential, one Key Vault client per vault, and
 * the trust roots a release's signature must chain to.
 */
import type { X509Certificate } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { KeyClient } from '@azure/keyvault-keys';
import { keyClientFor } from '../../edge/azure/key-client.ts';
import { readConfigPem, type AgentConfig } from '../config.ts';
import { releaseTrustRoots } from '../flow.ts';
import { agentCredential } from '../identity.ts';

/** SDK retries for vault calls; a Retry-After past this is passed on as `throttled`. */
const AZURE_RETRIES = { maxRetries: 2, retryDelayInMs: 250, maxRetryDelayInMs: 4_000 };

export class VaultAccess {
  private readonly config: AgentConfig;
  private readonly clients = new Map<string, KeyClient>();
  private credential: TokenCredential | undefined;
  private roots: Promise<X509Certificate[]> | undefined;
  private caPem: Promise<string | undefined> | undefined;

  constructor(config: AgentConfig) {
    this.config = config;
  }

  /** The CA PEM (SECUREKEY_CA_FILE), or undefined for the system roots. */
  ca(): Promise<string | undefined> {
    const { caPem, caFile } = this.config;
    return (this.caPem ??=
      caPem !== undefined || caFile === undefined ? Promise.resolve(caPem) : readConfigPem(caFile, 'caFile'));
  }

  trustRoots(): Promise<X509Certificate[]> {
    return (this.roots ??= releaseTrustRoots(this.config));
  }

  /** The vault's client; Retry-After is honoured up to `deadline` (epoch ms). */
  client(vaultUrl: string, caPem: string | undefined, deadline: number): KeyClient {
    let client = this.clients.get(vaultUrl);
    if (client === undefined) {
      // Entra is reached with the same CA as the vault (the sandbox's).
      this.credential ??= agentCredential(this.config.identity, caPem === undefined ? {} : { caPem });
      client = keyClientFor({
        vaultUrl,
        credential: this.credential,
        ...(caPem === undefined ? {} : { caPem }),
        retryOptions: AZURE_RETRIES,
        retryAfter: { deadline },
      });
      this.clients.set(vaultUrl, client);
    }
    return client;
  }
}
