import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { VAULT_ROOTS } from '../core/release/vault-roots.ts';
import { createCertificateAuthority } from '../core/x509/index.ts';
import { releaseTrustRoots } from './flow.ts';

describe('the release trust roots', () => {
  it('are the pinned vault roots when none are configured, not Node’s whole store', async () => {
    const roots = await releaseTrustRoots({});
    expect(roots.map((r) => r.fingerprint256)).toEqual(VAULT_ROOTS.map((r) => r.sha256));
    expect(rootCertificates.length).toBeGreaterThan(roots.length);
  });

  it('are replaced, not extended, by configured ones (the simulators’ CA)', async () => {
    const ca = createCertificateAuthority({
      subject: [{ type: 'CN', value: 'simulators CA' }],
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
    });
    const roots = await releaseTrustRoots({ releaseTrustRootsPem: ca.certPem });
    expect(roots.map((r) => r.raw)).toEqual([ca.certDer]);
  });
});
