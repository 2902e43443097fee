/**
 * One KeyVault (one real KeyClient) per vault URL a SecureKey names, all with the operator's identity.
 * A URL whose host is not under an allowed suffix is refused before any request is made: SecureKeys are
 * written by namespace users, and the operator should not be pointed at arbitrary hosts.
 */
import type { TokenCredential } from '@azure/identity';
import { keyClientFor } from '../../edge/azure/index.ts';
import { VaultCallError } from './errors.ts';
import { KeyVault, type VaultCallObserver } from './key-vault.ts';

/** Azure public and sovereign clouds' Key Vault and Managed HSM domains. */
export const AZURE_VAULT_SUFFIXES: readonly string[] = [
  '.vault.azure.net',
  '.managedhsm.azure.net',
  '.vault.azure.cn',
  '.managedhsm.azure.cn',
  '.vault.usgovcloudapi.net',
  '.managedhsm.usgovcloudapi.net',
];

/** The simulators' domains (docs/adr/0007-simulated-vault-hostnames.md). */
export const SIMULATED_VAULT_SUFFIXES: readonly string[] = ['.vault.localhost', '.managedhsm.localhost'];

export interface VaultsOptions {
  credential: TokenCredential;
  /** Trust only this CA for vault TLS (the simulators'); system roots when absent. */
  caPem?: string;
  allowedSuffixes: readonly string[];
  observe?: VaultCallObserver;
  /** Deadline of one vault call, its token request included; key-vault.ts's default when absent. */
  callTimeoutMs?: number;
}

export class Vaults {
  private readonly o: VaultsOptions;
  private readonly byUrl = new Map<string, KeyVault>();

  constructor(o: VaultsOptions) {
    this.o = o;
  }

  /** The vault at `url`; throws VaultCallError `rejected` for a URL the operator may not use. */
  get(url: string): KeyVault {
    const origin = this.check(url);
    let vault = this.byUrl.get(origin);
    if (!vault) {
      const client = keyClientFor({
        vaultUrl: origin,
        credential: this.o.credential,
        ...(this.o.caPem === undefined ? {} : { caPem: this.o.caPem }),
        // The work queue owns retries and backoff (and honours Retry-After); see KeyVault.
        retryOptions: { maxRetries: 0 },
      });
      vault = new KeyVault({
        client,
        ...(this.o.observe ? { observe: this.o.observe } : {}),
        ...(this.o.callTimeoutMs === undefined ? {} : { callTimeoutMs: this.o.callTimeoutMs }),
      });
      this.byUrl.set(origin, vault);
    }
    return vault;
  }

  private check(url: string): string {
    const checked = checkVaultUrl(url, this.o.allowedSuffixes);
    if ('problem' in checked) {
      throw new VaultCallError('rejected', checked.problem, {
        hint: 'set SECUREKEY_ALLOWED_VAULT_SUFFIXES on the operator to allow another domain',
      });
    }
    return checked.origin;
  }
}

/** The vault URL's origin when it is https under an allowed suffix; otherwise why not. Pure. */
export function checkVaultUrl(
  url: string,
  allowedSuffixes: readonly string[],
): { origin: string } | { problem: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: `spec.vault.url ${JSON.stringify(url)} is not a URL` };
  }
  const host = parsed.hostname.toLowerCase();
  if (parsed.protocol !== 'https:' || !allowedSuffixes.some((s) => host.endsWith(s.toLowerCase()))) {
    return {
      problem: `spec.vault.url ${parsed.origin} is not a vault this operator may use (allowed: https under ${allowedSuffixes.join(', ')})`,
    };
  }
  return { origin: parsed.origin };
}
