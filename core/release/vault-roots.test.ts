import crypto, { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { VAULT_ROOTS, vaultRootCertificates } from './vault-roots.ts';

/** SHA-1 thumbprints as Microsoft's "Azure Certificate Authority details" page publishes them. */
const MICROSOFT_THUMBPRINTS: Record<string, string> = {
  'DigiCert Global Root G2': 'DF3C24F9BFD666761B268073FE06D1CC8D4F82A4',
  'DigiCert Global Root G3': '7E04DE896A3E666D00E687D33FFAD93BE83D349E',
  'Microsoft RSA Root Certificate Authority 2017': '73A5E64A3BFF8316FF0EDCCC618A906E4EAE4D74',
  'Microsoft ECC Root Certificate Authority 2017': '999A64C37FF47D9FAB95F14769891460EEC4C3C5',
};

const colonHex = (digest: Buffer): string => digest.toString('hex').toUpperCase().match(/../g)!.join(':');

describe('the pinned vault roots', () => {
  it('are the four roots Microsoft lists for Azure TLS', () => {
    expect(VAULT_ROOTS.map((r) => r.name).sort()).toEqual(Object.keys(MICROSOFT_THUMBPRINTS).sort());
  });

  it.each(VAULT_ROOTS.map((r) => [r.name, r] as const))(
    '%s is byte-identical to Node’s root store and has the fingerprints written beside it',
    (name, root) => {
      const cert = new X509Certificate(root.pem);
      expect(cert.subject.split('\n')).toContain(`CN=${name}`);
      expect(cert.ca).toBe(true);
      expect(cert.checkIssued(cert)).toBe(true);
      const nodes = rootCertificates.filter((pem) => new X509Certificate(pem).raw.equals(cert.raw));
      expect(nodes).toEqual([root.pem.trim()]);
      expect(colonHex(crypto.createHash('sha256').update(cert.raw).digest())).toBe(root.sha256);
      expect(colonHex(crypto.createHash('sha1').update(cert.raw).digest())).toBe(root.sha1);
      expect(root.sha1.replace(/:/g, '')).toBe(MICROSOFT_THUMBPRINTS[name]);
    },
  );

  it('parse as certificates in the same order', () => {
    expect(vaultRootCertificates().map((c) => c.fingerprint256)).toEqual(VAULT_ROOTS.map((r) => r.sha256));
  });
});
