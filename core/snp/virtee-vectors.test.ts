/**
 * virtee/sev's real vectors (testdata/virtee-sev): a Milan report with the VCEK that signed it, and a
 * Turin VCEK, each chained to AMD's pinned ASK/ARK.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import {
  amdRoots,
  blankReport,
  checkReportAgainstVcek,
  composeTcb,
  decodeKdsExtensions,
  decomposeTcb,
  parseReport,
  PRODUCT_CPUID,
  SnpVerifyError,
  verifyAttestation,
  verifyReportSignature,
  verifyVcekChain,
} from './index.ts';
import { expectKind, flipBit } from '../../test/support/snp.ts';

const vector = (name: string): Buffer => readFileSync(testdata('virtee-sev', name));

/** virtee keeps the report as upper-case hex text, 2 characters a byte, no newline. */
function milanReport(): Buffer {
  const text = vector('report_milan.hex').toString('ascii');
  expect(text).toMatch(/^[0-9A-F]{2368}$/);
  return Buffer.from(text, 'hex');
}

const milanVcek = new X509Certificate(vector('vcek_milan.der'));
const turinVcek = new X509Certificate(vector('vcek_turin.der'));
// Both VCEKs were issued with seven-year validity (2023–2030 and 2024–2031).
const NOW = new Date('2025-06-01T00:00:00Z');

describe('virtee/sev Milan report and VCEK', () => {
  it('decodes field for field', () => {
    const r = parseReport(milanReport());
    expect(r.version).toBe(2);
    expect(r.guestSvn).toBe(0);
    expect(r.policy).toMatchObject({ abiMajor: 0, abiMinor: 0, smt: true, debug: false, migrateMa: false });
    expect(r.vmpl).toBe(0);
    expect(r.signatureAlgo).toBe(1);
    expect(r.platformInfo.smtEnabled).toBe(true);
    expect(r.signerInfo).toEqual({ authorKeyEnabled: false, maskChipKey: false, signingKey: 'vcek' });
    expect(r.familyId.equals(Buffer.alloc(16))).toBe(true);
    expect(r.imageId.equals(Buffer.alloc(16))).toBe(true);
    expect(r.reportData.toString('hex')).toBe(
      'd447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581' +
        '0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd',
    );
    expect(r.measurement.toString('hex')).toBe(
      '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f',
    );
    expect(r.hostData.equals(Buffer.alloc(32))).toBe(true);
    expect(r.reportId.toString('hex')).toBe(
      '92b3b47d59f0a2a10a74c5678868a80238cf593c01a82f3cffb878e904c28d5b',
    );
    expect(r.reportIdMa.equals(Buffer.alloc(32, 0xff))).toBe(true); // no migration agent
    expect(r.chipId.toString('hex')).toBe(
      'd49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc' +
        '15d7af38db757039029f0efacfd08e244324884738c72b082e2f87a44d541eb6',
    );
    for (const tcb of [r.currentTcb, r.reportedTcb, r.committedTcb, r.launchTcb]) {
      expect(tcb).toBe(0x7308000000000003n);
    }
    expect(decomposeTcb(r.reportedTcb, 'Milan')).toMatchObject({
      blSpl: 3,
      teeSpl: 0,
      snpSpl: 8,
      ucodeSpl: 115,
    });
    expect(r.currentVersion).toEqual({ major: 1, minor: 52, build: 4 });
    expect(r.committedVersion).toEqual({ major: 1, minor: 52, build: 4 });
  });

  it('its VCEK names the chip and TCB of the report', () => {
    const ext = decodeKdsExtensions(milanVcek);
    expect(ext).toMatchObject({ structVersion: 0, productName: 'Milan-B0', blSpl: 3, teeSpl: 0, snpSpl: 8 });
    expect(ext.ucodeSpl).toBe(115);
    expect(ext.hwId?.equals(parseReport(milanReport()).chipId)).toBe(true);
  });

  it('verifies end to end: signature by the VCEK, VCEK ← ASK ← ARK pinned by DER', () => {
    const { ask, ark } = amdRoots('Milan');
    const verified = verifyAttestation({ report: milanReport(), vcek: milanVcek, ask, ark }, { now: NOW });
    expect(verified.product).toBe('Milan');
    expect(verified.chain.rootMatchedBy).toBe('der');
    expect(verified.reportedTcb).toMatchObject({ blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 });
  });

  it('refuses the report with one signed byte flipped, and before the VCEK was issued', () => {
    const { ask, ark } = amdRoots('Milan');
    const altered = flipBit(milanReport(), 0x15, 7); // in FAMILY_ID, as virtee's own negative test
    expectKind(() => verifyReportSignature(altered, milanVcek), SnpVerifyError, 'signature-invalid');
    expectKind(
      () => verifyAttestation({ report: altered, vcek: milanVcek, ask, ark }, { now: NOW }),
      SnpVerifyError,
      'signature-invalid',
    );
    expectKind(
      () =>
        verifyAttestation(
          { report: milanReport(), vcek: milanVcek, ask, ark },
          { now: new Date('2023-01-01T00:00:00Z') },
        ),
      SnpVerifyError,
      'not-yet-valid',
    );
  });
});

describe.each([
  { product: 'Milan', vcek: milanVcek, other: 'Turin' },
  { product: 'Turin', vcek: turinVcek, other: 'Milan' },
] as const)('virtee/sev $product VCEK chain', ({ product, vcek, other }) => {
  it(`chains to the pinned ${product} ASK and ARK`, () => {
    const chain = verifyVcekChain({ vcek, ...amdRoots(product) }, { now: NOW });
    expect(chain.product).toBe(product);
    expect(chain.rootMatchedBy).toBe('der');
    expect(chain.extensions.productName?.split('-')[0]).toBe(product);
  });

  it("is refused with one byte of the ASK's signature flipped", () => {
    const altered = flipBit(vcek.raw, vcek.raw.length - 1); // the RSA-PSS signature ends the DER
    expectKind(
      () => verifyVcekChain({ vcek: altered, ...amdRoots(product) }, { now: NOW }),
      SnpVerifyError,
      'chain-signature-invalid',
    );
  });

  it(`is refused under the ${other} roots (its issuer is SEV-${product})`, () => {
    expectKind(
      () => verifyVcekChain({ vcek, ...amdRoots(other) }, { now: NOW }),
      SnpVerifyError,
      'subject-mismatch',
    );
  });
});

describe('virtee/sev Turin VCEK', () => {
  it('carries the KDS extensions AMD defines for Turin', () => {
    const ext = decodeKdsExtensions(turinVcek);
    expect(ext).toEqual({
      structVersion: 1,
      productName: 'Turin', // no stepping suffix, unlike Milan-B0
      fmcSpl: 0,
      blSpl: 0,
      teeSpl: 0,
      snpSpl: 0,
      spl5: 0,
      spl6: 0,
      spl7: 0,
      ucodeSpl: 9,
      // Turin's hwID is 8 bytes: the first 8 bytes of CHIP_ID.
      hwId: Buffer.from('1e550a8ee5cf9f4d', 'hex'),
    });
  });

  it('vouches for a Turin report at its TCB (FMC in byte 0, microcode in byte 7) and no other', () => {
    const ext = decodeKdsExtensions(turinVcek);
    const tcb = composeTcb(
      {
        fmcSpl: ext.fmcSpl,
        blSpl: ext.blSpl!,
        teeSpl: ext.teeSpl!,
        snpSpl: ext.snpSpl!,
        ucodeSpl: ext.ucodeSpl!,
      },
      'Turin',
    );
    expect(tcb).toBe(0x0900000000000000n);
    const chipId = Buffer.concat([ext.hwId!, Buffer.alloc(56)]);
    const report = { ...blankReport(3, PRODUCT_CPUID.Turin), reportedTcb: tcb, chipId };
    expect(checkReportAgainstVcek(report, 'Turin', ext)).toMatchObject({ fmcSpl: 0, ucodeSpl: 9 });
    expectKind(
      () => checkReportAgainstVcek({ ...report, reportedTcb: tcb + 1n }, 'Turin', ext),
      SnpVerifyError,
      'tcb-mismatch',
    );
    expectKind(
      () => checkReportAgainstVcek({ ...report, chipId: flipBit(chipId, 0) }, 'Turin', ext),
      SnpVerifyError,
      'chip-id-mismatch',
    );
  });
});
