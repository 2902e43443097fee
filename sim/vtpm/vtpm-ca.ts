/**
 * The simulated Azure "Global Virtual TPM CA": the issuer of every simulated vTPM's AK certificate, on a
 * fixed fixture key (fixtures/) so that a simulated Azure Attestation in another process (the sandbox,
 * the in-cluster simulators) trusts a vTPM launched on the host: both sides build it from the same key
 * and name, and the AK certificate's issuer and signature check out under either copy.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createCertificateAuthority, type CertificateAuthority } from '../../core/x509/authority.ts';

const KEY_FILE = new URL('./fixtures/vtpm-ca.key.pem', import.meta.url);
const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const NOT_AFTER = new Date('2045-01-01T00:00:00Z');

let ca: CertificateAuthority | undefined;

export function simulatedVtpmCa(): CertificateAuthority {
  return (ca ??= createCertificateAuthority({
    subject: [
      { type: 'CN', value: 'Global Virtual TPM CA - 03 (simulated)' },
      { type: 'O', value: 'SecureKey simulators' },
    ],
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    key: crypto.createPrivateKey(readFileSync(KEY_FILE)),
  }));
}
