/**
 * Which attestation authorities a SecureKey may name. The release policy makes the vault trust tokens
 * signed by these authorities, so a SecureKey pointing a real vault at a simulated (or any foreign)
 * attestation service would let whoever runs it obtain the key. Refused before anything reaches the
 * vault, like vault URLs outside the allowed domains. Pure.
 */
import { ReconcileError } from './errors.ts';

/**
 * Microsoft's shared Azure Attestation providers (`shared<region>.<region>.attest.azure.net`, and the
 * sovereign clouds' twins). Not every host under `.attest.azure.net`: anyone can create a custom
 * provider there and write its policy, so custom providers must be named one by one (exact hosts).
 */
export const AZURE_SHARED_ATTESTATION = 'azure-shared';
export const AZURE_ATTESTATION_SUFFIXES: readonly string[] = [AZURE_SHARED_ATTESTATION];
const SHARED_PROVIDER = /^shared([a-z0-9]+)\.\1\.attest\.azure\.(net|us|cn)$/;

/** The local sandbox's attestation simulator (its in-cluster address is set by the chart). */
export const SIMULATED_ATTESTATION_SUFFIXES: readonly string[] = ['.attest.localhost'];

/**
 * `azure-shared` allows Microsoft's shared providers; an entry starting with "." allows hosts under it;
 * any other entry allows exactly that host.
 */
function allowed(host: string, entries: readonly string[]): boolean {
  return entries.some((e) =>
    e === AZURE_SHARED_ATTESTATION
      ? SHARED_PROVIDER.test(host)
      : e.startsWith('.')
        ? host.endsWith(e.toLowerCase())
        : host === e.toLowerCase(),
  );
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
