/**
 * Each certificate override corrupts what it says: verification under the fake ARK then fails with
 * the kind a verifier gives for that defect (or, where verifiers have no opinion, the field changed).
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SnpFormatError,
  SnpVerifyError,
  verifyAttestation,
  type SnpVerifyErrorKind,
} from '../../core/snp/index.ts';
import { expectKind } from '../../test/support/snp.ts';
import { certificateFields } from '../../core/x509/index.ts';
import { amdName, FakeAmd, ReportSigner, type CertOverride, type FakeAmdOptions } from './index.ts';

const now = new Date();
const reportData = Buffer.alloc(64, 7);
const genuine = new FakeAmd();
const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

/** Verifies a report signed by a platform built with `overrides`, trusting the genuine fake ARK. */
function verifyWith(overrides: FakeAmdOptions['overrides'], trustedArk = genuine.ark) {
  const amd = new FakeAmd({ overrides });
  const report = new ReportSigner(amd).sign({ reportData });
  return () => verifyAttestation({ report, ...amd.chain() }, { now, trustedArk });
}

const past = new Date('2021-01-01T00:00:00Z');
const future = new Date(Date.now() + 365 * 86_400_000);
const renamed = (cn: string, ou = 'Engineering') =>
  amdName(cn).map((a) => (a.type === 'OU' ? { ...a, value: ou } : a));

const cases: [string, FakeAmdOptions['overrides'], SnpVerifyErrorKind][] = [
  ['ARK signature', { ark: { corruptSignature: true } }, 'chain-signature-invalid'],
  ['ASK signature', { ask: { corruptSignature: true } }, 'chain-signature-invalid'],
  ['VCEK signature', { vcek: { corruptSignature: true } }, 'chain-signature-invalid'],
  ['ARK algorithm', { ark: { signatureAlgorithm: 'sha256-rsa' } }, 'unsupported-algorithm'],
  ['ASK algorithm', { ask: { signatureAlgorithm: 'sha256-rsa' } }, 'unsupported-algorithm'],
  ['VCEK algorithm', { vcek: { signatureAlgorithm: 'sha256-rsa' } }, 'unsupported-algorithm'],
  ['ARK key', { ark: { publicKey: p384 } }, 'untrusted-root'],
  ['ASK key type', { ask: { publicKey: p384 } }, 'bad-key'],
  ['VCEK curve', { vcek: { publicKey: p256 } }, 'bad-key'],
  ['VCEK key (another P-384)', { vcek: { publicKey: p384 } }, 'signature-invalid'],
  ['ARK subject', { ark: { subject: renamed('ARK-Milan', 'Marketing') } }, 'subject-mismatch'],
  ['ASK issuer', { ask: { issuer: renamed('ARK-Milan', 'Sales') } }, 'subject-mismatch'],
  ['VCEK subject', { vcek: { subject: renamed('SEV-VCEK', 'Legal') } }, 'subject-mismatch'],
  ['ASK CN names an ARK', { ask: { subject: amdName('ARK-Milan') } }, 'ark-in-ask-slot'],
  ['VCEK CN names a VLEK', { vcek: { subject: amdName('SEV-VLEK') } }, 'unsupported-signing-key'],
  ['ASK key usage without keyCertSign', { ask: { keyUsage: ['digitalSignature'] } }, 'subject-mismatch'],
  ['VCEK expired', { vcek: { notBefore: new Date('2014-01-01T00:00:00Z'), notAfter: past } }, 'expired'],
  ['ASK not yet valid', { ask: { notBefore: future } }, 'not-yet-valid'],
  ['VCEK blSPL', { vcek: { kds: { blSpl: 9 } } }, 'tcb-mismatch'],
  ['VCEK ucodeSPL missing', { vcek: { kds: { ucodeSpl: undefined } } }, 'tcb-mismatch'],
  ['VCEK spl_5 (reserved byte)', { vcek: { kds: { spl5: 1 } } }, 'tcb-mismatch'],
  ['VCEK hwID', { vcek: { kds: { hwId: Buffer.alloc(64, 1) } } }, 'chip-id-mismatch'],
  ['VCEK productName', { vcek: { kds: { productName: 'Genoa-B1' } } }, 'product-mismatch'],
  ['VCEK without KDS extensions', { vcek: { extensions: [] } }, 'product-mismatch'],
];

describe('certificate overrides', () => {
  it('the genuine fake chain verifies (baseline)', () => {
    expect(verifyWith(undefined)().product).toBe('Milan');
  });

  for (const [what, overrides, kind] of cases) {
    it(`${what} → ${kind}`, () => {
      expectKind(verifyWith(overrides), SnpVerifyError, kind);
    });
  }

  it('serial numbers are written as given (verifiers do not check them)', () => {
    const amd = new FakeAmd({ overrides: { vcek: { serial: 42 }, ask: { serial: 7 } } });
    expect(certificateFields(amd.vcek).serialNumber).toBe(42n);
    expect(certificateFields(amd.ask).serialNumber).toBe(7n);
  });

  it('a KDS extension of the wrong ASN.1 type is a format error', () => {
    const bad: CertOverride = {
      kds: { blSpl: 3 },
      extensions: [{ oid: '1.3.6.1.4.1.3704.1.3.1', value: Buffer.from('0c0133', 'hex') }],
    };
    expectKind(verifyWith({ vcek: bad }), SnpFormatError, 'bad-kds-extension');
  });
});

describe('report signer options that make a report unverifiable', () => {
  it('MASK_CHIP_ID zeroes CHIP_ID, so the VCEK hwID no longer matches', () => {
    const report = new ReportSigner(genuine, {}, { maskChipId: true }).sign({ reportData });
    expect(report.subarray(0x1a0, 0x1e0).every((b) => b === 0)).toBe(true);
    expectKind(
      () => verifyAttestation({ report, ...genuine.chain() }, { now, trustedArk: genuine.ark }),
      SnpVerifyError,
      'chip-id-mismatch',
    );
  });

  it('MASK_CHIP_KEY leaves the report unsigned', () => {
    const report = new ReportSigner(genuine, {}, { maskChipKey: true }).sign({ reportData });
    expect(report.subarray(0x2a0).every((b) => b === 0)).toBe(true);
    expect(report[0x48]! & 2).toBe(2);
    expectKind(
      () => verifyAttestation({ report, ...genuine.chain() }, { now, trustedArk: genuine.ark }),
      SnpFormatError,
      'bad-signature-encoding',
    );
  });

  it('a REPORTED_TCB other than the VCEK’s fails against the platform VCEK', () => {
    const report = new ReportSigner(
      genuine,
      {},
      { reportedTcb: { blSpl: 2, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 } },
    ).sign({ reportData });
    // Signed by the chip's VCEK for that TCB, so only that VCEK verifies it.
    expectKind(
      () => verifyAttestation({ report, ...genuine.chain() }, { now, trustedArk: genuine.ark }),
      SnpVerifyError,
      'signature-invalid',
    );
    const older = genuine.chain({ blSpl: 2, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 });
    expect(verifyAttestation({ report, ...older }, { now, trustedArk: genuine.ark }).reportedTcb.blSpl).toBe(
      2,
    );
  });
});
