import crypto, { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { children, decodeBitString, parseDer } from '../../core/asn1/index.ts';
import {
  amdRoots,
  CERT_TABLE_GUIDS,
  decodeKdsExtensions,
  findCertTableEntry,
  parseCertTable,
  SnpVerifyError,
  verifyAttestation,
  verifyReportSignature,
  type SnpProduct,
} from '../../core/snp/index.ts';
import { expectKind } from '../../test/support/snp.ts';
import { certificateFields, getExtension } from '../../core/x509/index.ts';
import { FakeAmd, fixtureRootKeys, randomChipSecret, ReportSigner, tcbHex } from './index.ts';

const now = new Date();
const products: SnpProduct[] = ['Milan', 'Genoa', 'Turin'];
const reportData = crypto.createHash('sha512').update('runtime data').digest();
const hostData = crypto.createHash('sha256').update('policy').digest();

describe('chain and reports verify under the fake ARK', () => {
  for (const product of products) {
    const amd = new FakeAmd({ product });
    for (const version of [2, 3, 5] as const) {
      it(`${product}, report version ${version}`, () => {
        const report = new ReportSigner(amd, { hostData }, { version }).sign({ reportData });
        const result = verifyAttestation({ report, ...amd.chain() }, { now, trustedArk: amd.ark });
        expect(result.product).toBe(product);
        expect(result.report.version).toBe(version);
        expect(result.report.reportData).toEqual(reportData);
        expect(result.report.hostData).toEqual(hostData);
        expect(result.report.chipId).toEqual(amd.chipId);
        expect(result.report.reportedTcb).toBe(amd.tcb);
        expect(result.chain.extensions.productName).toBe(amd.productName);
        expect(result.chain.rootMatchedBy).toBe('der');
      });
    }
    it(`${product}: AMD's real ${product} root refuses the fake chain`, () => {
      const report = new ReportSigner(amd, { hostData }).sign({ reportData });
      expectKind(
        () => verifyAttestation({ report, ...amd.chain() }, { now }),
        SnpVerifyError,
        'untrusted-root',
      );
    });
  }

  it('the real Milan ARK, pinned explicitly, refuses the fake Milan chain', () => {
    const amd = new FakeAmd();
    const report = new ReportSigner(amd).sign({ reportData });
    expectKind(
      () => verifyAttestation({ report, ...amd.chain() }, { now, trustedArk: amdRoots('Milan').ark }),
      SnpVerifyError,
      'untrusted-root',
    );
  });

  it('the fake roots of two products are different keys', () => {
    const milan = new FakeAmd({ product: 'Milan' });
    const genoa = new FakeAmd({ product: 'Genoa' });
    const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });
    expect(spki(milan.ark).equals(spki(genoa.ark))).toBe(false);
  });
});

describe('certificates look like AMD’s', () => {
  const amd = new FakeAmd();
  it('names, serials, CRL points and validity', () => {
    const ark = certificateFields(amd.ark);
    expect(amd.ark.subject).toBe(
      'OU=Engineering\nC=US\nL=Santa Clara\nST=CA\nO=Advanced Micro Devices\nCN=ARK-Milan',
    );
    expect(amd.ask.issuer).toBe(amd.ark.subject);
    expect(amd.vcek.issuer).toBe(amd.ask.subject);
    expect(amd.vcek.subject).toMatch(/CN=SEV-VCEK$/);
    expect(ark.serialNumber).toBe(0x10000n);
    expect(certificateFields(amd.ask).serialNumber).toBe(0x10001n);
    expect(certificateFields(amd.vcek).serialNumber).toBe(0n);
    expect(amd.ark.validFromDate.toISOString()).toBe('2020-10-22T17:23:05.000Z');
    expect(amd.ark.validToDate.getUTCFullYear()).toBe(2045);
    const vcekYears = amd.vcek.validToDate.getUTCFullYear() - amd.vcek.validFromDate.getUTCFullYear();
    expect(vcekYears).toBe(7);
    expect(getExtension(amd.ark, '2.5.29.31')).toBeDefined();
    expect(getExtension(amd.ask, '2.5.29.31')).toBeDefined();
    expect(getExtension(amd.vcek, '2.5.29.31')).toBeUndefined();
    expect(amd.ark.publicKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
    expect(amd.vcek.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });

  it('Milan VCEK carries every KDS extension and the THIM tcbm reads as REPORTED_TCB', () => {
    expect(decodeKdsExtensions(amd.vcek)).toEqual({
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
      hwId: amd.chipId,
    });
    const thim = amd.thimCertification();
    expect(thim.tcbm).toBe('7308000000000003');
    const report = new ReportSigner(amd).sign({ reportData });
    expect(report.subarray(0x180, 0x188).toString('hex')).toBe('0300000000000873');
    // THIM and KDS serve hwID raw, as every real VCEK carries it; a tagged one only on request.
    expect(getExtension(new X509Certificate(thim.vcekCert), '1.3.6.1.4.1.3704.1.4')?.value.length).toBe(64);
    expect(getExtension(amd.vcek, '1.3.6.1.4.1.3704.1.4')?.value.length).toBe(64);
    expect(
      getExtension(amd.vcekFor(amd.tcb, 'octet-string').cert, '1.3.6.1.4.1.3704.1.4')?.value.length,
    ).toBe(66);
  });

  it('Turin VCEK has structVersion 1, fmcSPL and an 8-byte hwID; its CHIP_ID has 8 non-zero bytes', () => {
    const turin = new FakeAmd({ product: 'Turin' });
    const ext = decodeKdsExtensions(turin.vcek);
    expect(ext.structVersion).toBe(1);
    expect(ext.fmcSpl).toBe(1);
    expect(ext.hwId).toEqual(turin.chipId.subarray(0, 8));
    expect(turin.chipId.subarray(8).every((b) => b === 0)).toBe(true);
    expect(ext.productName).toBe('Turin');
  });

  it('the VCEK key is the chip’s per TCB: stable across instances, new for another TCB', () => {
    const again = new FakeAmd();
    const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
    expect(spki(again.vcek)).toBe(spki(amd.vcek));
    const older = amd.vcekFor({ blSpl: 2, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 });
    expect(spki(older.cert)).not.toBe(spki(amd.vcek));
    expect(tcbHex(older.tcb)).toBe('7308000000000002');
  });

  it('the certificate table holds VCEK, ASK and ARK, and its VCEK verifies a report', () => {
    const entries = parseCertTable(amd.certTable());
    const vcek = new X509Certificate(findCertTableEntry(entries, 'vcek')!);
    expect(findCertTableEntry(entries, 'ask')).toEqual(amd.ask.raw);
    expect(findCertTableEntry(entries, 'ark')).toEqual(amd.ark.raw);
    expect(entries.map((e) => e.guid)).toEqual([
      CERT_TABLE_GUIDS.vcek,
      CERT_TABLE_GUIDS.ask,
      CERT_TABLE_GUIDS.ark,
    ]);
    verifyReportSignature(new ReportSigner(amd).sign({ reportData }), vcek);
  });

  it('the CRL is signed by the ARK with RSA-PSS SHA-384 and lists revoked serials', () => {
    const crl = amd.crl(now, [0x10001n]);
    const [tbs, , sig] = children(parseDer(crl));
    const tbsDer = Buffer.from(tbs!.raw);
    const signature = decodeBitString(sig!, 'signature').bytes;
    const verify = (data: Uint8Array) =>
      crypto.verify(
        'sha384',
        data,
        { key: amd.ark.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
        signature,
      );
    expect(verify(tbsDer)).toBe(true);
    const tampered = Buffer.from(tbsDer);
    tampered[tampered.length - 1]! ^= 1;
    expect(verify(tampered)).toBe(false);
    expect(crl.includes(Buffer.from([0x02, 0x03, 0x01, 0x00, 0x01]))).toBe(true);
  });
});

describe('another root and chip', () => {
  it('a platform under other root keys and a random chip verifies only under its own ARK', () => {
    // Turin's fixture keys under Genoa's names: a root that is not the fixture Genoa's, made without
    // generating an RSA-4096 key.
    const other = new FakeAmd({
      product: 'Genoa',
      keys: fixtureRootKeys('Turin'),
      chipSecret: randomChipSecret(),
    });
    const fixture = new FakeAmd({ product: 'Genoa' });
    expect(other.ark.publicKey.equals(fixture.ark.publicKey)).toBe(false);
    expect(other.chipId.equals(fixture.chipId)).toBe(false);
    const report = new ReportSigner(other).sign({ reportData });
    expect(verifyAttestation({ report, ...other.chain() }, { now, trustedArk: other.ark }).product).toBe(
      'Genoa',
    );
    expectKind(
      () => verifyAttestation({ report, ...other.chain() }, { now, trustedArk: fixture.ark }),
      SnpVerifyError,
      'untrusted-root',
    );
  });
});
