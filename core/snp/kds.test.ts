import crypto, { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCertificate, getExtension, X509Error } from '../x509/index.ts';
import {
  decodeKdsExtensions,
  encodeKdsExtensions,
  KDS_OIDS,
  parseReport,
  SnpFormatError,
  type KdsExtensions,
} from './index.ts';
import { expectKind, realChain, realReport } from '../../test/support/snp.ts';
import { amdName } from '../../sim/amd/hierarchy.ts';

// A P-384 issuer keeps these certificates cheap; the KDS extensions do not care who signed.
const issuer = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
const subject = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });

function vcekWith(extensions: { oid: string; value: Buffer }[]): X509Certificate {
  return new X509Certificate(
    buildCertificate({
      serial: 0,
      subject: amdName('SEV-VCEK'),
      issuer: amdName('SEV-Milan'),
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2031-01-01T00:00:00Z'),
      publicKey: subject.publicKey,
      signingKey: issuer.privateKey,
      signatureAlgorithm: 'ecdsa-sha384',
      extensions,
    }),
  );
}

describe('decodeKdsExtensions', () => {
  it('reads the real Milan VCEK from THIM (raw 64-byte hwID)', () => {
    const ext = decodeKdsExtensions(realChain.vcek);
    expect(ext).toEqual({
      structVersion: 0,
      productName: 'Milan-B0',
      blSpl: 3,
      teeSpl: 0,
      spl4: 0,
      spl5: 0,
      spl6: 0,
      spl7: 0,
      snpSpl: 8,
      ucodeSpl: 115,
      hwId: parseReport(realReport).chipId,
    });
    expect(getExtension(realChain.vcek, KDS_OIDS.hwId)!.value.length).toBe(64);
  });

  it('decodes SPLs of 128 and more as DER INTEGERs (ucodeSPL 210 is 02 02 00 d2, not 0)', () => {
    const cert = vcekWith([
      { oid: KDS_OIDS.ucodeSpl, value: Buffer.from('020200d2', 'hex') },
      { oid: KDS_OIDS.snpSpl, value: Buffer.from('020200ff', 'hex') },
    ]);
    expect(decodeKdsExtensions(cert)).toEqual({ ucodeSpl: 210, snpSpl: 255 });
    // The reader Microsoft's sidecar uses takes value[2] and would see 0 here.
    expect(getExtension(cert, KDS_OIDS.ucodeSpl)!.value[2]).toBe(0);
  });

  it('accepts hwID as a DER OCTET STRING (AMD KDS) or raw (THIM), 64 bytes or 8 (Turin)', () => {
    const id = crypto.randomBytes(64);
    const asOctets = Buffer.concat([Buffer.from('0440', 'hex'), id]);
    expect(decodeKdsExtensions(vcekWith([{ oid: KDS_OIDS.hwId, value: asOctets }])).hwId).toEqual(id);
    expect(decodeKdsExtensions(vcekWith([{ oid: KDS_OIDS.hwId, value: id }])).hwId).toEqual(id);
    const turin = id.subarray(0, 8);
    expect(
      decodeKdsExtensions(
        vcekWith([{ oid: KDS_OIDS.hwId, value: Buffer.concat([Buffer.from('0408', 'hex'), turin]) }]),
      ).hwId,
    ).toEqual(turin);
    // A raw ID that happens to start like an OCTET STRING header is still taken whole.
    const tricky = Buffer.concat([Buffer.from('043e', 'hex'), crypto.randomBytes(62)]);
    expect(decodeKdsExtensions(vcekWith([{ oid: KDS_OIDS.hwId, value: tricky }])).hwId).toEqual(tricky);
  });

  it.each([
    ['an SPL above 255', KDS_OIDS.blSpl, '02020100'],
    ['a negative SPL', KDS_OIDS.teeSpl, '0201ff'],
    ['a non-minimal INTEGER', KDS_OIDS.snpSpl, '02020005'],
    ['an SPL that is not an INTEGER', KDS_OIDS.ucodeSpl, '040105'],
    ['trailing bytes after the INTEGER', KDS_OIDS.ucodeSpl, '02010500'],
    ['a productName that is a UTF8String', KDS_OIDS.productName, '0c084d696c616e2d4230'],
    ['a hwID of 63 bytes', KDS_OIDS.hwId, '00'.repeat(63)],
    ['a hwID OCTET STRING of 32 bytes', KDS_OIDS.hwId, `0420${'11'.repeat(32)}`],
  ])('rejects %s', (_name, oid, hex) => {
    expectKind(
      () => decodeKdsExtensions(vcekWith([{ oid, value: Buffer.from(hex, 'hex') }])),
      SnpFormatError,
      'bad-kds-extension',
    );
  });

  it('rejects a certificate with both hwID and csp_id, and duplicate extensions', () => {
    const both = vcekWith([
      { oid: KDS_OIDS.hwId, value: Buffer.alloc(64, 1) },
      { oid: KDS_OIDS.cspId, value: Buffer.from('1605417a757265', 'hex') },
    ]);
    expectKind(() => decodeKdsExtensions(both), SnpFormatError, 'bad-kds-extension');
    const der = Buffer.from(
      buildCertificate({
        serial: 1,
        subject: amdName('SEV-VCEK'),
        issuer: amdName('SEV-Milan'),
        notBefore: new Date('2024-01-01T00:00:00Z'),
        notAfter: new Date('2031-01-01T00:00:00Z'),
        publicKey: subject.publicKey,
        signingKey: issuer.privateKey,
        signatureAlgorithm: 'ecdsa-sha384',
        extensions: [
          { oid: KDS_OIDS.blSpl, value: Buffer.from('020101', 'hex') },
          { oid: '1.3.6.1.4.1.3704.1.3.99', value: Buffer.from('020101', 'hex') },
        ],
      }),
    );
    // Rename the second OID to the first (same length) to forge a duplicate.
    const second = der.lastIndexOf(Buffer.from('2b060104019c78010363', 'hex'));
    Buffer.from('2b060104019c78010301', 'hex').copy(der, second);
    expectKind(() => decodeKdsExtensions(der), X509Error, 'duplicate-extension');
  });
});

describe('encodeKdsExtensions', () => {
  const full: KdsExtensions = {
    structVersion: 1,
    productName: 'Turin-A0',
    blSpl: 9,
    teeSpl: 1,
    spl4: 0,
    spl5: 0,
    spl6: 0,
    spl7: 0,
    snpSpl: 24,
    ucodeSpl: 210,
    fmcSpl: 2,
    hwId: crypto.randomBytes(8),
  };

  it('round trips through a certificate, in AMD order, with ucodeSPL as 02 02 00 d2', () => {
    const exts = encodeKdsExtensions(full, { hwIdEncoding: 'octet-string' });
    // With fmcSPL, the Turin order (virtee's real Turin VCEK): fmcSPL first, snpSPL before spl_4–7.
    expect(exts.map((e) => e.oid)).toEqual([
      KDS_OIDS.structVersion,
      KDS_OIDS.productName,
      KDS_OIDS.fmcSpl,
      KDS_OIDS.blSpl,
      KDS_OIDS.teeSpl,
      KDS_OIDS.snpSpl,
      KDS_OIDS.spl4,
      KDS_OIDS.spl5,
      KDS_OIDS.spl6,
      KDS_OIDS.spl7,
      KDS_OIDS.ucodeSpl,
      KDS_OIDS.hwId,
    ]);
    expect(Buffer.from(exts.find((e) => e.oid === KDS_OIDS.ucodeSpl)!.value).toString('hex')).toBe(
      '020200d2',
    );
    expect(
      Buffer.from(exts.find((e) => e.oid === KDS_OIDS.hwId)!.value)
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('0408');
    expect(decodeKdsExtensions(vcekWith(exts as { oid: string; value: Buffer }[]))).toEqual(full);
  });

  it('matches the real VCEK extension bytes, hwID raw by default', () => {
    const real = decodeKdsExtensions(realChain.vcek);
    const exts = encodeKdsExtensions(real);
    for (const e of exts) expect(Buffer.from(e.value)).toEqual(getExtension(realChain.vcek, e.oid)!.value);
  });

  it('refuses values it cannot encode', () => {
    expectKind(() => encodeKdsExtensions({ ucodeSpl: 256 }), SnpFormatError, 'bad-kds-extension');
    expectKind(() => encodeKdsExtensions({ hwId: Buffer.alloc(32) }), SnpFormatError, 'bad-kds-extension');
    expectKind(
      () => encodeKdsExtensions({ hwId: Buffer.alloc(64), cspId: 'x' }),
      SnpFormatError,
      'bad-kds-extension',
    );
    expectKind(() => encodeKdsExtensions({ productName: 'Milán' }), SnpFormatError, 'bad-kds-extension');
  });
});
