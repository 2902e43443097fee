import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  amdSignatureToDer,
  amdSignatureToP1363,
  derToAmdSignature,
  OFFSET,
  P384_ORDER,
  p1363ToAmdSignature,
  parseReport,
  readReportSignature,
  signReport,
  SIGNED_LENGTH,
  SnpFormatError,
} from './index.ts';
import { expectKind, flipBit, realChain, realReport } from '../../test/support/snp.ts';

const signed = realReport.subarray(0, SIGNED_LENGTH);
const key = realChain.vcek.publicKey;

describe('AMD signature encodings', () => {
  const sig = readReportSignature(realReport);

  it('the real signature verifies in both DER and P1363 form', () => {
    expect(crypto.verify('sha384', signed, key, amdSignatureToDer(sig))).toBe(true);
    expect(
      crypto.verify('sha384', signed, { key, dsaEncoding: 'ieee-p1363' }, amdSignatureToP1363(sig)),
    ).toBe(true);
  });

  it('reverses each 48-byte half (little-endian in the report, big-endian for Node)', () => {
    const p1363 = amdSignatureToP1363(sig);
    expect(p1363.subarray(0, 48).equals(Buffer.from(sig.r.subarray(0, 48)).reverse())).toBe(true);
    expect(p1363.subarray(48).equals(Buffer.from(sig.s.subarray(0, 48)).reverse())).toBe(true);
  });

  it('round trips AMD <-> DER <-> P1363', () => {
    expect(derToAmdSignature(amdSignatureToDer(sig))).toEqual({
      r: Buffer.from(sig.r),
      s: Buffer.from(sig.s),
    });
    expect(p1363ToAmdSignature(amdSignatureToP1363(sig))).toEqual({
      r: Buffer.from(sig.r),
      s: Buffer.from(sig.s),
    });
  });

  it('writes DER INTEGERs with the sign byte when the top bit is set', () => {
    const high = { r: Buffer.alloc(72), s: Buffer.alloc(72) };
    high.r[47] = 0x80; // most significant byte of r
    high.r[0] = 1;
    high.s[0] = 5;
    const der = amdSignatureToDer(high);
    expect(der.subarray(0, 5).toString('hex')).toBe('3036023100');
    expect(der.subarray(der.length - 3).toString('hex')).toBe('020105');
    expect(derToAmdSignature(der)).toEqual(high);
  });

  it('rejects non-zero bytes past the 48th, naming the report offset', () => {
    for (const [name, offset] of [
      ['r', OFFSET.SIGNATURE_R + 48],
      ['s', OFFSET.SIGNATURE_S + 71],
    ] as const) {
      const bad = readReportSignature(flipBit(realReport, offset));
      const err = expectKind(() => amdSignatureToP1363(bad), SnpFormatError, 'bad-signature-encoding');
      expect(err.offset).toBe(offset);
      expect(err.message).toContain(`signature ${name}`);
    }
  });

  it('rejects r or s of zero or at least the group order, and wrong sizes', () => {
    expectKind(
      () => amdSignatureToP1363({ r: Buffer.alloc(72), s: sig.s }),
      SnpFormatError,
      'bad-signature-encoding',
    );
    const order = Buffer.concat([Buffer.from(P384_ORDER.toString(16), 'hex').reverse(), Buffer.alloc(24)]);
    expectKind(() => amdSignatureToP1363({ r: sig.r, s: order }), SnpFormatError, 'bad-signature-encoding');
    expectKind(
      () => amdSignatureToP1363({ r: sig.r.subarray(0, 48), s: sig.s }),
      SnpFormatError,
      'bad-signature-encoding',
    );
    expectKind(() => p1363ToAmdSignature(Buffer.alloc(95, 1)), SnpFormatError, 'bad-signature-encoding');
    expectKind(
      () => derToAmdSignature(Buffer.from('3006020100020101', 'hex')),
      SnpFormatError,
      'bad-signature-encoding',
    );
    expectKind(
      () => derToAmdSignature(Buffer.from('30060201010201ff', 'hex')),
      SnpFormatError,
      'bad-signature-encoding',
    );
    expectKind(
      () => derToAmdSignature(Buffer.from('3003020101', 'hex')),
      SnpFormatError,
      'bad-signature-encoding',
    );
  });
});

describe('signReport', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });

  it('signs bytes 0x000–0x29F and writes r and s little-endian with zero tails', () => {
    const out = signReport(realReport, privateKey);
    expect(out.subarray(0, SIGNED_LENGTH).equals(signed)).toBe(true);
    const sig = readReportSignature(out);
    expect(sig.r.subarray(48).every((b) => b === 0) && sig.s.subarray(48).every((b) => b === 0)).toBe(true);
    expect(out.subarray(0x330).every((b) => b === 0)).toBe(true);
    expect(crypto.verify('sha384', out.subarray(0, SIGNED_LENGTH), publicKey, amdSignatureToDer(sig))).toBe(
      true,
    );
    expect(crypto.verify('sha384', out.subarray(0, SIGNED_LENGTH), key, amdSignatureToDer(sig))).toBe(false);
    expect(parseReport(out).hostData.equals(parseReport(realReport).hostData)).toBe(true);
    expect(
      realReport
        .subarray(OFFSET.SIGNATURE_R, OFFSET.SIGNATURE_R + 4)
        .equals(out.subarray(OFFSET.SIGNATURE_R, OFFSET.SIGNATURE_R + 4)),
    ).toBe(false);
  });

  it('refuses keys that are not P-384 private keys, and wrong lengths', () => {
    const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expectKind(() => signReport(realReport, p256), SnpFormatError, 'bad-field');
    expectKind(() => signReport(realReport, publicKey), SnpFormatError, 'bad-field');
    expectKind(() => signReport(realReport.subarray(1), privateKey), SnpFormatError, 'bad-length');
  });
});
