/**
 * The simulated VCEKs against the real ones in testdata/virtee-sev, extension by extension: the same
 * KDS extensions in the same order, each encoded the same way (hwID raw, without the OCTET STRING tag
 * every real VCEK lacks), the same structVersion and productName. Values differ only where the chip
 * and TCB do.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkReportAgainstVcek,
  decodeKdsExtensions,
  decomposeTcb,
  KDS_OIDS,
  parseReport,
  SnpVerifyError,
  verifyAttestation,
} from '../../core/snp/index.ts';
import { getExtensions } from '../../core/x509/index.ts';
import { testdata } from '../../test/support/paths.ts';
import { expectKind } from '../../test/support/snp.ts';
import { FakeAmd, ReportSigner } from './index.ts';

const real: Record<'Milan' | 'Turin', X509Certificate> = {
  Milan: new X509Certificate(readFileSync(testdata('virtee-sev', 'vcek_milan.der'))),
  Turin: new X509Certificate(readFileSync(testdata('virtee-sev', 'vcek_turin.der'))),
};

const KDS_ARC = '1.3.6.1.4.1.3704.1.';
const kdsExtensions = (cert: X509Certificate) => getExtensions(cert).filter((e) => e.oid.startsWith(KDS_ARC));
/** What the encoding of a value is, not the value: its DER tag (or `raw` for hwID) and length. */
function shape(oid: string, value: Buffer): string {
  if (oid === KDS_OIDS.hwId) return `raw ${value.length}`;
  return `tag ${value[0]!.toString(16)}`;
}

describe.each(['Milan', 'Turin'] as const)('the simulated %s VCEK', (product) => {
  const amd = new FakeAmd({ product });

  it('has the real one’s KDS extensions, in its order, encoded alike', () => {
    const want = kdsExtensions(real[product]).map((e) => `${e.oid} ${shape(e.oid, e.value)}`);
    const got = kdsExtensions(amd.vcek).map((e) => `${e.oid} ${shape(e.oid, e.value)}`);
    expect(got).toEqual(want);
  });

  it('has the real one’s structVersion and productName', () => {
    const want = decodeKdsExtensions(real[product]);
    const got = decodeKdsExtensions(amd.vcek);
    expect(got.structVersion).toBe(want.structVersion);
    expect(got.productName).toBe(want.productName);
    expect(got.hwId?.length).toBe(want.hwId?.length);
  });

  it('is what KDS and THIM serve: hwID raw in both', () => {
    const fromThim = new X509Certificate(amd.thimCertification().vcekCert);
    for (const cert of [amd.vcek, fromThim]) {
      const hwId = kdsExtensions(cert).find((e) => e.oid === KDS_OIDS.hwId)!;
      expect(hwId.value.equals(amd.chipId.subarray(0, product === 'Turin' ? 8 : 64))).toBe(true);
    }
  });
});

describe('a Turin VCEK is checked as the real one reads', () => {
  const amd = new FakeAmd({ product: 'Turin' });
  const report = parseReport(new ReportSigner(amd).sign({ reportData: Buffer.alloc(64) }));

  it('spl_5–spl_7 are TCB bytes 4–6, and verify', () => {
    const ext = decodeKdsExtensions(amd.vcek);
    expect([ext.spl5, ext.spl6, ext.spl7]).toEqual([...decomposeTcb(amd.tcb, 'Turin').reserved]);
    expect(ext.spl4).toBeUndefined();
    const signed = new ReportSigner(amd).sign({ reportData: crypto.randomBytes(64) });
    expect(
      verifyAttestation({ report: signed, ...amd.chain() }, { now: new Date(), trustedArk: amd.ark }).product,
    ).toBe('Turin');
  });

  it('refuses a spl_5 that differs from TCB byte 4', () => {
    const ext = { ...decodeKdsExtensions(amd.vcek), spl5: 1 };
    const err = expectKind(
      () => checkReportAgainstVcek(report, 'Turin', ext),
      SnpVerifyError,
      'tcb-mismatch',
    );
    expect(err.message).toContain('spl_5');
  });

  it('refuses a structVersion 1 VCEK without fmcSPL, even for FMC level 0', () => {
    const fmc0 = new FakeAmd({
      product: 'Turin',
      tcb: { fmcSpl: 0, blSpl: 1, teeSpl: 1, snpSpl: 3, ucodeSpl: 79 },
    });
    const at0 = parseReport(new ReportSigner(fmc0).sign({ reportData: Buffer.alloc(64) }));
    const { fmcSpl: _dropped, ...ext } = decodeKdsExtensions(fmc0.vcek);
    const err = expectKind(() => checkReportAgainstVcek(at0, 'Turin', ext), SnpVerifyError, 'tcb-mismatch');
    expect(err.message).toContain('no fmcSPL');
  });

  it('still reads a VCEK whose hwID is a tagged OCTET STRING, as go-sev-guest does', () => {
    const tagged = new FakeAmd({ product: 'Turin', hwIdEncoding: 'octet-string' });
    const hwId = kdsExtensions(tagged.vcek).find((e) => e.oid === KDS_OIDS.hwId)!;
    expect(hwId.value.subarray(0, 2).toString('hex')).toBe('0408');
    expect(decodeKdsExtensions(tagged.vcek).hwId).toEqual(tagged.chipId.subarray(0, 8));
  });
});
