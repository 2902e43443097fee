import crypto, { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  buildCertificate,
  certificateFields,
  certificateAuthority,
  createCertificateAuthority,
  decodeBasicConstraints,
  decodeKeyUsage,
  encodeAuthorityKeyIdentifier,
  EXTENSION_OIDS,
  generateKey,
  getExtension,
  issueIntermediate,
  issueLeaf,
  parseSignatureAlgorithm,
  X509Error,
} from './index.ts';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2027-01-01T00:00:00Z');
const validity = { notBefore, notAfter };

const authorityKeyId = (der: Buffer): Buffer | undefined =>
  getExtension(der, EXTENSION_OIDS.authorityKeyIdentifier)?.value;

describe('createCertificateAuthority and issueLeaf', () => {
  const ca = createCertificateAuthority({ subject: [{ type: 'CN', value: 'test CA' }], ...validity });

  it('makes a CA whose server leaf OpenSSL verifies, with the names and usages asked for', () => {
    const leaf = issueLeaf(ca, {
      subject: [{ type: 'CN', value: 'svc' }],
      ...validity,
      extKeyUsage: ['serverAuth'],
      subjectAltNames: { dns: ['svc.ns.svc'], ip: ['127.0.0.1'] },
    });
    const caCert = new X509Certificate(ca.certDer);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(decodeKeyUsage(getExtension(ca.certDer, EXTENSION_OIDS.keyUsage)!.value)).toContain('keyCertSign');
    expect(cert.ca).toBe(false);
    expect(
      decodeBasicConstraints(getExtension(leaf.certDer, EXTENSION_OIDS.basicConstraints)!.value),
    ).toEqual({ ca: false });
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost('svc.ns.svc')).toBe('svc.ns.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(crypto.createPublicKey(leaf.key).equals(cert.publicKey)).toBe(true);
    expect(leaf.key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('issues an intermediate CA with its path length, whose leaves chain to the root', () => {
    const issuing = issueIntermediate(ca, {
      subject: [{ type: 'CN', value: 'issuing CA' }],
      ...validity,
      pathLength: 0,
    });
    const leaf = new X509Certificate(
      issueLeaf(issuing, { subject: [{ type: 'CN', value: 'x' }], ...validity }).certDer,
    );
    const cert = new X509Certificate(issuing.certDer);
    expect(decodeBasicConstraints(getExtension(cert, EXTENSION_OIDS.basicConstraints)!.value)).toEqual({
      ca: true,
      pathLength: 0,
    });
    expect(cert.checkIssued(new X509Certificate(ca.certDer))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certDer).publicKey)).toBe(true);
    expect(leaf.checkIssued(cert) && leaf.verify(cert.publicKey)).toBe(true);
    expect(authorityKeyId(issuing.certDer)).toEqual(
      encodeAuthorityKeyIdentifier(ca.keyIdentifier as Uint8Array),
    );
  });

  it('gives every certificate a fresh positive serial', () => {
    const serials = [1, 2, 3].map(
      () =>
        new X509Certificate(issueLeaf(ca, { subject: [{ type: 'CN', value: 'x' }], ...validity }).certDer),
    );
    expect(new Set(serials.map((c) => c.serialNumber)).size).toBe(3);
    for (const c of serials) expect(Number.parseInt(c.serialNumber[0]!, 16)).toBeLessThan(8);
  });

  it('an RSA leaf may encipher keys; an RSA CA signs with SHA-256', () => {
    const rsaCa = createCertificateAuthority({
      subject: [{ type: 'CN', value: 'rsa CA' }],
      ...validity,
      key: generateKey('rsa'),
    });
    const leaf = issueLeaf(rsaCa, {
      subject: [{ type: 'CN', value: 'signer' }],
      ...validity,
      key: generateKey('rsa'),
    });
    expect(decodeKeyUsage(getExtension(leaf.certDer, EXTENSION_OIDS.keyUsage)!.value)).toEqual([
      'digitalSignature',
      'keyEncipherment',
    ]);
    const cert = new X509Certificate(leaf.certDer);
    expect(cert.verify(new X509Certificate(rsaCa.certDer).publicKey)).toBe(true);
    expect(getExtension(leaf.certDer, EXTENSION_OIDS.extKeyUsage)).toBeUndefined();
    expect(parseSignatureAlgorithm(certificateFields(leaf.certDer).signatureAlgorithm)).toMatchObject({
      kind: 'rsa-pkcs1',
      hash: 'sha256',
    });
  });
});

describe('certificateAuthority (a CA made elsewhere)', () => {
  it("names the CA's own subject key identifier as the leaves' authority key identifier", () => {
    // Go 1.25+ derives the SKI from SHA-256, not from SHA-1 as this builder does: the leaf must copy it.
    const key = generateKey();
    const ski = crypto.createHash('sha256').update('elsewhere').digest().subarray(0, 20);
    const subject = [{ type: 'CN', value: 'made by Go' }];
    const der = buildCertificate({
      serial: 1,
      subject,
      issuer: subject,
      ...validity,
      publicKey: key,
      signingKey: key,
      signatureAlgorithm: 'ecdsa-sha256',
      basicConstraints: { ca: true },
      keyUsage: ['keyCertSign'],
      subjectKeyIdentifier: ski,
    });
    const leaf = issueLeaf(certificateAuthority(der, key), {
      subject: [{ type: 'CN', value: 'x' }],
      ...validity,
    });
    expect(authorityKeyId(leaf.certDer)).toEqual(encodeAuthorityKeyIdentifier(ski));
    expect(new X509Certificate(leaf.certDer).checkIssued(new X509Certificate(der))).toBe(true);
  });

  it('refuses a key that is not the certificate’s', () => {
    const ca = createCertificateAuthority({ subject: [{ type: 'CN', value: 'a' }], ...validity });
    let thrown: unknown;
    try {
      certificateAuthority(ca.certDer, generateKey());
    } catch (err) {
      thrown = err;
    }
    expect(isErrorOf(thrown, X509Error, 'key-mismatch')).toBe(true);
  });
});
