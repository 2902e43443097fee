/**
 * Which attestation authorities a SecureKey may name. The release policy makes the vault trust tokens
 * signed by these authorities, so a SecureKey pointing a real vault at a simulated (or any foreign)
 * attestation service would let whoever runs it obtain the key. Refused before anything reaches the
 * vault, like vault URLs outside the allowed domains. Pure.
 */
import { ReconcileError } from './errors.ts';

/** Microsoft Azure Attestation in the public and sovereign clouds. */
export const AZURE_ATTESTATION_SUFFIXES: readonly string[] = [
  '.attest.azure.net',
  '.attest.azure.us',
  '.attest.azure.cn',
];

/** The local sandbox's attestation simulator (its in-cluster address is set by the chart). */
export const SIMULATED_ATTESTATION_SUFFIXES: readonly string[] = ['.attest.localhost'];

/** An entry starting with "." allows hosts under it; any other entry allows exactly that host. */
function allowed(host: string, entries: readonly string[]): boolean {
  return entries.some((e) => (e.startsWith('.') ? host.endsWith(e.toLowerCase()) : host === e.toLowerCase()));
}

export function checkAuthorities(authorities: readonly string[], entries: readonly string[]): void {
  for (const [i, authority] of authorities.entries()) {
    let host: string;
    try {
      const url = new URL(authority);
      if (url.protocol !== 'https:') throw new Error('not https');
      host = url.hostname.toLowerCase();
    } catch {
      throw new ReconcileError(
        'bad-authority',
        `spec.attestation.authorities[${i}] ${JSON.stringify(authority)} is not an https URL`,
      );
    }
    if (!allowed(host, entries)) {
      throw new ReconcileError(
        'bad-authority',
        `spec.attestation.authorities[${i}] ${authority} is not an attestation service this operator may trust (allowed: ${entries.join(', ')})`,
        { hint: 'set SECUREKEY_ALLOWED_AUTHORITY_SUFFIXES on the operator to allow another one' },
      );
    }
  }
}
