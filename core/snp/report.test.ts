import { describe, expect, it } from 'vitest';
import {
  blankReport,
  composeTcb,
  decodeGuestPolicy,
  decodeKdsExtensions,
  OFFSET,
  parseReport,
  PRODUCT_CPUID,
  REPORT_SIZE,
  serializeReport,
  SnpFormatError,
  type AttestationReport,
} from './index.ts';
import { expectKind, flipBit, realChain, realReport, thim } from '../../test/support/snp.ts';

const hex = (b: Buffer): string => b.toString('hex');

describe('parseReport on the real Milan report', () => {
  const report = parseReport(realReport);

  it('reads every field', () => {
    expect(realReport.length).toBe(REPORT_SIZE);
    expect(report.version).toBe(2);
    expect(report.guestSvn).toBe(2);
    expect(report.policy).toEqual({
      abiMinor: 0x1f,
      abiMajor: 0,
      smt: true,
      migrateMa: false,
      debug: false,
      singleSocket: false,
      cxlAllow: false,
      memAes256Xts: false,
      raplDis: false,
      ciphertextHiding: false,
      pageSwapDisable: false,
    });
    expect(hex(report.familyId)).toBe(`01${'00'.repeat(15)}`);
    expect(hex(report.imageId)).toBe(`02${'00'.repeat(15)}`);
    expect(report.vmpl).toBe(0);
    expect(report.signatureAlgo).toBe(1);
    expect(report.platformInfo).toMatchObject({
      smtEnabled: true,
      tsmeEnabled: false,
      eccEnabled: false,
      tioEnabled: false,
    });
    expect(report.signerInfo).toEqual({ authorKeyEnabled: false, maskChipKey: false, signingKey: 'vcek' });
    expect(hex(report.reportData)).toBe(
      `ee986ff2bd7e3f22e29f640918627816cf8e23b9d9c312767168eab68c861c71${'00'.repeat(32)}`,
    );
    expect(hex(report.measurement)).toBe(
      '51068107cdc7ee3d89c7821b05bca6147eb77b2005ae759050fc049b65a1b0beabc65a9d857acecf23225f5ec76849f5',
    );
    expect(hex(report.hostData)).toBe('cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c');
    expect(hex(report.idKeyDigest).startsWith('d3ed82823f890b10')).toBe(true);
    expect(report.authorKeyDigest.every((b) => b === 0)).toBe(true);
    expect(hex(report.reportId).startsWith('f577d07df6f3aadf')).toBe(true);
    expect(report.reportIdMa.every((b) => b === 0xff)).toBe(true);
    expect(report.cpuid).toBeUndefined();
    expect(report.launchMitVector).toBeUndefined();
    expect(report.currentMitVector).toBeUndefined();
    expect(report.currentVersion).toEqual({ major: 1, minor: 52, build: 4 });
    expect(report.committedVersion).toEqual({ major: 1, minor: 52, build: 4 });
    expect(report.signature.r.subarray(48).every((b) => b === 0)).toBe(true);
    expect(hex(report.signature.r).startsWith('5482f7168f3f12ba')).toBe(true);
    expect(hex(report.signature.s).startsWith('8f084c4d17fdf704')).toBe(true);
  });

  it('has REPORTED_TCB = tcbm and bl 3 / tee 0 / snp 8 / ucode 115 (Milan layout)', () => {
    expect(report.reportedTcb).toBe(BigInt(`0x${thim.tcbm}`));
    expect(hex(realReport.subarray(OFFSET.REPORTED_TCB, OFFSET.REPORTED_TCB + 8))).toBe('0300000000000873');
    expect(report.reportedTcb).toBe(composeTcb({ blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 }, 'Milan'));
    for (const tcb of [report.currentTcb, report.committedTcb, report.launchTcb])
      expect(tcb).toBe(report.reportedTcb);
  });

  it('has the CHIP_ID the VCEK was issued for', () => {
    expect(report.chipId.equals(decodeKdsExtensions(realChain.vcek).hwId!)).toBe(true);
  });

  it('serialises back to the identical bytes', () => {
    expect(serializeReport(report).equals(realReport)).toBe(true);
  });

  it('copies fields rather than aliasing the input', () => {
    const bytes = Buffer.from(realReport);
    const r = parseReport(bytes);
    bytes.fill(0xaa, OFFSET.HOST_DATA, OFFSET.HOST_DATA + 32);
    expect(hex(r.hostData).startsWith('cadd')).toBe(true);
  });
});

function reportOf(version: number, product: 'Milan' | 'Genoa' | 'Turin', fill: number): AttestationReport {
  const base = blankReport(version, PRODUCT_CPUID[product]);
  const bytes = (n: number, seed: number): Buffer =>
    Buffer.from(Array.from({ length: n }, (_v, i) => (i * 7 + seed) & 0xff));
  return {
    ...base,
    guestSvn: 0xdeadbeef,
    policy: { ...base.policy, abiMajor: 1, abiMinor: 55, debug: true, pageSwapDisable: true, cxlAllow: true },
    familyId: bytes(16, fill),
    imageId: bytes(16, fill + 1),
    vmpl: 3,
    currentTcb: composeTcb(
      { fmcSpl: product === 'Turin' ? 2 : undefined, blSpl: 9, teeSpl: 1, snpSpl: 24, ucodeSpl: 210 },
      product,
    ),
    platformInfo: { ...base.platformInfo, smtEnabled: true, aliasCheckComplete: true, tioEnabled: true },
    signerInfo: { authorKeyEnabled: true, maskChipKey: false, signingKey: 'vlek' },
    reportData: bytes(64, fill + 2),
    measurement: bytes(48, fill + 3),
    hostData: bytes(32, fill + 4),
    idKeyDigest: bytes(48, fill + 5),
    authorKeyDigest: bytes(48, fill + 6),
    reportId: bytes(32, fill + 7),
    reportIdMa: bytes(32, fill + 8),
    reportedTcb: 0x0102030405060708n,
    chipId: bytes(64, fill + 9),
    committedTcb: 0xfffffffffffffffen,
    currentVersion: { major: 1, minor: 58, build: 3 },
    committedVersion: { major: 1, minor: 57, build: 9 },
    launchTcb: 42n,
    launchMitVector: version >= 5 ? 0x8000000000000001n : undefined,
    currentMitVector: version >= 5 ? 0x3n : undefined,
    signature: {
      r: Buffer.concat([bytes(48, 1), Buffer.alloc(24)]),
      s: Buffer.concat([bytes(48, 2), Buffer.alloc(24)]),
    },
  };
}

describe('versions 3, 4 and 5', () => {
  it.each([
    [3, 'Genoa'],
    [4, 'Milan'],
    [5, 'Turin'],
  ] as const)('version %s round trips object -> bytes -> object -> bytes', (version, product) => {
    const report = reportOf(version, product, version);
    const bytes = serializeReport(report);
    expect(bytes.length).toBe(REPORT_SIZE);
    const parsed = parseReport(bytes);
    expect(parsed).toEqual(report);
    expect(serializeReport(parsed).equals(bytes)).toBe(true);
    expect(bytes[OFFSET.CPUID_FAM_ID]).toBe(PRODUCT_CPUID[product].family);
    expect(bytes[OFFSET.CPUID_MOD_ID]).toBe(PRODUCT_CPUID[product].model);
    expect(bytes.readUInt32LE(OFFSET.SIGNER_INFO)).toBe(0b101);
  });

  it('writes the mitigation vectors only in version 5', () => {
    const v5 = serializeReport(reportOf(5, 'Turin', 1));
    expect(v5.readBigUInt64LE(OFFSET.LAUNCH_MIT_VECTOR)).toBe(0x8000000000000001n);
    expect(v5.readBigUInt64LE(OFFSET.CURRENT_MIT_VECTOR)).toBe(3n);
    const v3bytes = Buffer.from(v5);
    v3bytes.writeUInt32LE(3, 0);
    const err = expectKind(() => parseReport(v3bytes), SnpFormatError, 'reserved-nonzero');
    expect(err.offset).toBe(OFFSET.LAUNCH_MIT_VECTOR);
  });
});

describe('parseReport rejects malformed reports', () => {
  it('wrong lengths, unless trailing bytes are explicitly allowed', () => {
    expectKind(() => parseReport(realReport.subarray(0, REPORT_SIZE - 1)), SnpFormatError, 'bad-length');
    const padded = Buffer.concat([realReport, Buffer.alloc(32)]);
    expectKind(() => parseReport(padded), SnpFormatError, 'bad-length');
    expect(serializeReport(parseReport(padded, { allowTrailingBytes: true })).equals(realReport)).toBe(true);
    expectKind(
      () => parseReport(realReport.subarray(0, 100), { allowTrailingBytes: true }),
      SnpFormatError,
      'bad-length',
    );
  });

  it.each([0, 6, 0xffffffff])('unsupported version %s', (version) => {
    const bytes = Buffer.from(realReport);
    bytes.writeUInt32LE(version, OFFSET.VERSION);
    expectKind(() => parseReport(bytes), SnpFormatError, 'unsupported-version');
  });

  it.each([0, 2, 0x100])('SIGNATURE_ALGO %s', (algo) => {
    const bytes = Buffer.from(realReport);
    bytes.writeUInt32LE(algo, OFFSET.SIGNATURE_ALGO);
    expectKind(() => parseReport(bytes), SnpFormatError, 'bad-signature-algo');
  });

  it.each([0x04c, 0x04f, 0x188, 0x18a, 0x19f, 0x1eb, 0x1ef, 0x1f8, 0x207, 0x208, 0x29f, 0x330, 0x49f])(
    'non-zero reserved byte 0x%s in a version 2 report, reported at its offset',
    (offset) => {
      const err = expectKind(
        () => parseReport(flipBit(realReport, offset, 3)),
        SnpFormatError,
        'reserved-nonzero',
      );
      expect(err.offset).toBe(offset);
      expect(err.message).toContain(`0x${offset.toString(16).toUpperCase().padStart(3, '0')}`);
    },
  );

  it('CPUID bytes are fields in version 3 but reserved in version 2', () => {
    const v3 = serializeReport(reportOf(3, 'Milan', 0));
    expect(parseReport(v3).cpuid).toEqual(PRODUCT_CPUID.Milan);
    const err = expectKind(() => parseReport(flipBit(v3, 0x18b)), SnpFormatError, 'reserved-nonzero');
    expect(err.offset).toBe(0x18b);
  });

  it('POLICY bit 17 must be 1 and bits 26–63 zero', () => {
    expectKind(() => parseReport(flipBit(realReport, OFFSET.POLICY + 2, 1)), SnpFormatError, 'bad-policy');
    expectKind(() => parseReport(flipBit(realReport, OFFSET.POLICY + 3, 2)), SnpFormatError, 'bad-policy');
    expectKind(() => parseReport(flipBit(realReport, OFFSET.POLICY + 7, 7)), SnpFormatError, 'bad-policy');
    expect(parseReport(flipBit(realReport, OFFSET.POLICY + 3, 1)).policy.pageSwapDisable).toBe(true);
    expect(decodeGuestPolicy(0xa0000n)).toMatchObject({ debug: true, smt: false });
  });

  it('PLATFORM_INFO bit 6 and bits above 7 are reserved', () => {
    expectKind(
      () => parseReport(flipBit(realReport, OFFSET.PLATFORM_INFO, 6)),
      SnpFormatError,
      'bad-platform-info',
    );
    expectKind(
      () => parseReport(flipBit(realReport, OFFSET.PLATFORM_INFO + 1, 0)),
      SnpFormatError,
      'bad-platform-info',
    );
    expect(parseReport(flipBit(realReport, OFFSET.PLATFORM_INFO, 7)).platformInfo.tioEnabled).toBe(true);
  });

  it('signer info: reserved SIGNING_KEY values and bits 5–31', () => {
    const withSigner = (v: number): Buffer => {
      const b = Buffer.from(realReport);
      b.writeUInt32LE(v, OFFSET.SIGNER_INFO);
      return b;
    };
    expect(parseReport(withSigner(7 << 2)).signerInfo.signingKey).toBe('none');
    expect(parseReport(withSigner(3)).signerInfo).toEqual({
      authorKeyEnabled: true,
      maskChipKey: true,
      signingKey: 'vcek',
    });
    expectKind(() => parseReport(withSigner(2 << 2)), SnpFormatError, 'bad-signer-info');
    expectKind(() => parseReport(withSigner(1 << 5)), SnpFormatError, 'bad-signer-info');
  });
});

describe('serializeReport checks its input', () => {
  const good = reportOf(3, 'Milan', 0);
  it.each([
    ['a short HOST_DATA', { hostData: Buffer.alloc(31) }],
    ['a version 3 report without cpuid', { cpuid: undefined }],
    ['mitigation vectors before version 5', { launchMitVector: 1n }],
    ['a negative TCB', { reportedTcb: -1n }],
    ['a TCB above u64', { currentTcb: 1n << 64n }],
    ['a fractional VMPL', { vmpl: 0.5 }],
    ['an unknown version', { version: 6 }],
    ['a 48-byte r', { signature: { r: Buffer.alloc(48), s: Buffer.alloc(72) } }],
    ['an ABI major above 255', { policy: { ...good.policy, abiMajor: 256 } }],
  ] as [string, Partial<AttestationReport>][])('rejects %s', (_name, change) => {
    expectKind(() => serializeReport({ ...good, ...change }), SnpFormatError, 'bad-field');
  });

  it('writes a SIGNATURE_ALGO other than 1 as given, so tests can build bad reports', () => {
    const bytes = serializeReport({ ...good, signatureAlgo: 2 });
    expect(bytes.readUInt32LE(OFFSET.SIGNATURE_ALGO)).toBe(2);
    expectKind(() => parseReport(bytes), SnpFormatError, 'bad-signature-algo');
  });

  it('blankReport is valid for every version', () => {
    for (const v of [2, 3, 4, 5])
      expect(parseReport(serializeReport(blankReport(v)))).toEqual(blankReport(v));
  });
});
