/**
 * ATTESTATION_REPORT codec: 0x4A0 bytes <-> a typed object, and nothing about trust. Parsing is
 * strict (versions 1–5, SIGNATURE_ALGO 1, every reserved byte zero, policy and info bits known), so
 * serialising a parsed report gives back the identical bytes.
 *
 * Version 1: the report of early SNP firmware, which Azure Attestation accepted (the REST spec's
 * `AttestSevSnpVm` example); every field MAA claims from it sits at its version 2 offset, so it is
 * parsed with the version 2 layout (no CPUID, no mitigation vectors; 0x188–0x19F must be zero).
 * Version 4: AMD shipped it with the version 3 layout (virtee maps 3 and 4 to one layout;
 * go-sev-guest accepts 2–5), so it is parsed as version 3 with the version number kept.
 */
import { SnpFormatError } from './errors.ts';
import { OFFSET, REPORT_SIZE, SIGNATURE_ALGO_ECDSA_P384_SHA384, SIZE } from './layout.ts';
import {
  decodeGuestPolicy,
  decodePlatformInfo,
  decodeSignerInfo,
  encodeGuestPolicy,
  encodePlatformInfo,
  encodeSignerInfo,
  type GuestPolicy,
  type PlatformInfo,
  type SignerInfo,
} from './policy.ts';
import type { CpuidFms } from './tcb.ts';

export const SUPPORTED_REPORT_VERSIONS: readonly number[] = [1, 2, 3, 4, 5];

export interface FirmwareVersion {
  readonly major: number;
  readonly minor: number;
  readonly build: number;
}

/** r and s exactly as stored: 72 bytes each, little-endian, zero past the 48th byte. */
export interface ReportSignature {
  readonly r: Buffer;
  readonly s: Buffer;
}

export interface AttestationReport {
  readonly version: number;
  readonly guestSvn: number;
  readonly policy: GuestPolicy;
  readonly familyId: Buffer;
  readonly imageId: Buffer;
  readonly vmpl: number;
  readonly signatureAlgo: number;
  /** TCB_VERSION values stay raw u64s: their byte layout depends on the product (see tcb.ts). */
  readonly currentTcb: bigint;
  readonly platformInfo: PlatformInfo;
  readonly signerInfo: SignerInfo;
  readonly reportData: Buffer;
  readonly measurement: Buffer;
  readonly hostData: Buffer;
  readonly idKeyDigest: Buffer;
  readonly authorKeyDigest: Buffer;
  readonly reportId: Buffer;
  readonly reportIdMa: Buffer;
  readonly reportedTcb: bigint;
  /** Versions 3 and later; undefined for versions 1 and 2. */
  readonly cpuid: CpuidFms | undefined;
  readonly chipId: Buffer;
  readonly committedTcb: bigint;
  readonly currentVersion: FirmwareVersion;
  readonly committedVersion: FirmwareVersion;
  readonly launchTcb: bigint;
  /** Version 5 and later; undefined before. */
  readonly launchMitVector: bigint | undefined;
  readonly currentMitVector: bigint | undefined;
  readonly signature: ReportSignature;
}

export interface ParseReportOptions {
  /**
   * Accept a buffer longer than 0x4A0 bytes and read the report from its start (for firmware
   * response buffers that are padded). Off by default: a report is exactly 1184 bytes.
   */
  readonly allowTrailingBytes?: boolean;
}

/** The MBZ ranges [start, end) for a report version. */
function reservedRanges(version: number): [number, number][] {
  return [
    [OFFSET.RESERVED_04C, OFFSET.REPORT_DATA],
    [version >= 3 ? OFFSET.RESERVED_18B : OFFSET.CPUID_FAM_ID, OFFSET.CHIP_ID],
    [OFFSET.RESERVED_1EB, OFFSET.RESERVED_1EB + 1],
    [OFFSET.RESERVED_1EF, OFFSET.RESERVED_1EF + 1],
    ...(version >= 5 ? [] : ([[OFFSET.LAUNCH_MIT_VECTOR, OFFSET.RESERVED_208]] as [number, number][])),
    [OFFSET.RESERVED_208, OFFSET.SIGNATURE],
    [OFFSET.SIGNATURE_RESERVED, REPORT_SIZE],
  ];
}

const hex = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(3, '0')}`;

/** Parses and checks a report. Throws SnpFormatError with the offset of the first problem. */
export function parseReport(bytes: Uint8Array, options: ParseReportOptions = {}): AttestationReport {
  const tooLong = bytes.length > REPORT_SIZE && !options.allowTrailingBytes;
  if (bytes.length < REPORT_SIZE || tooLong) {
    throw new SnpFormatError(
      'bad-length',
      `attestation report is ${bytes.length} bytes, expected ${REPORT_SIZE}`,
      {
        hint:
          bytes.length > REPORT_SIZE ? 'a firmware response carries the report at offset 0x20' : undefined,
      },
    );
  }
  const b = Buffer.from(bytes.subarray(0, REPORT_SIZE));
  const version = b.readUInt32LE(OFFSET.VERSION);
  if (!SUPPORTED_REPORT_VERSIONS.includes(version)) {
    throw new SnpFormatError('unsupported-version', `report VERSION ${version} is not supported (1–5)`, {
      offset: OFFSET.VERSION,
    });
  }
  const signatureAlgo = b.readUInt32LE(OFFSET.SIGNATURE_ALGO);
  if (signatureAlgo !== SIGNATURE_ALGO_ECDSA_P384_SHA384) {
    throw new SnpFormatError(
      'bad-signature-algo',
      `SIGNATURE_ALGO ${signatureAlgo}, expected 1 (ECDSA P-384 SHA-384)`,
      {
        offset: OFFSET.SIGNATURE_ALGO,
      },
    );
  }
  for (const [start, end] of reservedRanges(version)) {
    for (let i = start; i < end; i++) {
      if (b[i] !== 0) {
        throw new SnpFormatError(
          'reserved-nonzero',
          `reserved byte at ${hex(i)} is 0x${b[i]!.toString(16).padStart(2, '0')} (range ${hex(start)}–${hex(end - 1)} must be zero in version ${version})`,
          { offset: i },
        );
      }
    }
  }

  const copy = (offset: number, size: number): Buffer => Buffer.from(b.subarray(offset, offset + size));
  const v3 = version >= 3;
  const v5 = version >= 5;
  return {
    version,
    guestSvn: b.readUInt32LE(OFFSET.GUEST_SVN),
    policy: decodeGuestPolicy(b.readBigUInt64LE(OFFSET.POLICY)),
    familyId: copy(OFFSET.FAMILY_ID, SIZE.FAMILY_ID),
    imageId: copy(OFFSET.IMAGE_ID, SIZE.IMAGE_ID),
    vmpl: b.readUInt32LE(OFFSET.VMPL),
    signatureAlgo,
    currentTcb: b.readBigUInt64LE(OFFSET.CURRENT_TCB),
    platformInfo: decodePlatformInfo(b.readBigUInt64LE(OFFSET.PLATFORM_INFO)),
    signerInfo: decodeSignerInfo(b.readUInt32LE(OFFSET.SIGNER_INFO)),
    reportData: copy(OFFSET.REPORT_DATA, SIZE.REPORT_DATA),
    measurement: copy(OFFSET.MEASUREMENT, SIZE.MEASUREMENT),
    hostData: copy(OFFSET.HOST_DATA, SIZE.HOST_DATA),
    idKeyDigest: copy(OFFSET.ID_KEY_DIGEST, SIZE.ID_KEY_DIGEST),
    authorKeyDigest: copy(OFFSET.AUTHOR_KEY_DIGEST, SIZE.AUTHOR_KEY_DIGEST),
    reportId: copy(OFFSET.REPORT_ID, SIZE.REPORT_ID),
    reportIdMa: copy(OFFSET.REPORT_ID_MA, SIZE.REPORT_ID_MA),
    reportedTcb: b.readBigUInt64LE(OFFSET.REPORTED_TCB),
    cpuid: v3
      ? { family: b[OFFSET.CPUID_FAM_ID]!, model: b[OFFSET.CPUID_MOD_ID]!, stepping: b[OFFSET.CPUID_STEP]! }
      : undefined,
    chipId: copy(OFFSET.CHIP_ID, SIZE.CHIP_ID),
    committedTcb: b.readBigUInt64LE(OFFSET.COMMITTED_TCB),
    currentVersion: {
      build: b[OFFSET.CURRENT_BUILD]!,
      minor: b[OFFSET.CURRENT_MINOR]!,
      major: b[OFFSET.CURRENT_MAJOR]!,
    },
    committedVersion: {
      build: b[OFFSET.COMMITTED_BUILD]!,
      minor: b[OFFSET.COMMITTED_MINOR]!,
      major: b[OFFSET.COMMITTED_MAJOR]!,
    },
    launchTcb: b.readBigUInt64LE(OFFSET.LAUNCH_TCB),
    launchMitVector: v5 ? b.readBigUInt64LE(OFFSET.LAUNCH_MIT_VECTOR) : undefined,
    currentMitVector: v5 ? b.readBigUInt64LE(OFFSET.CURRENT_MIT_VECTOR) : undefined,
    signature: {
      r: copy(OFFSET.SIGNATURE_R, SIZE.SIGNATURE_COMPONENT),
      s: copy(OFFSET.SIGNATURE_S, SIZE.SIGNATURE_COMPONENT),
    },
  };
}

function field(ok: boolean, message: string): void {
  if (!ok) throw new SnpFormatError('bad-field', message);
}

const isUint = (v: unknown, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isU64 = (v: unknown): v is bigint => typeof v === 'bigint' && v >= 0n && v <= 0xffff_ffff_ffff_ffffn;

/**
 * Writes a report object as 0x4A0 bytes. Every field is written as given (a SIGNATURE_ALGO other
 * than 1 too, so tests can build bad reports); sizes, ranges and version-dependent fields are checked.
 */
export function serializeReport(report: AttestationReport): Buffer {
  const r = report;
  field(SUPPORTED_REPORT_VERSIONS.includes(r.version), `version ${r.version} is not 1–5`);
  const b = Buffer.alloc(REPORT_SIZE);
  const u32 = (name: string, v: number, offset: number): void => {
    field(isUint(v, 0xffff_ffff), `${name} ${v} is not a u32`);
    b.writeUInt32LE(v, offset);
  };
  const u64 = (name: string, v: bigint, offset: number): void => {
    field(isU64(v), `${name} ${String(v)} is not a u64 bigint`);
    b.writeBigUInt64LE(v, offset);
  };
  const u8 = (name: string, v: number, offset: number): void => {
    field(isUint(v, 0xff), `${name} ${v} is not a byte`);
    b[offset] = v;
  };
  const bytes = (name: string, v: Uint8Array, size: number, offset: number): void => {
    field(v instanceof Uint8Array && v.length === size, `${name} must be ${size} bytes, got ${v?.length}`);
    b.set(v, offset);
  };

  u32('version', r.version, OFFSET.VERSION);
  u32('guestSvn', r.guestSvn, OFFSET.GUEST_SVN);
  u64('policy', encodeGuestPolicy(r.policy), OFFSET.POLICY);
  bytes('familyId', r.familyId, SIZE.FAMILY_ID, OFFSET.FAMILY_ID);
  bytes('imageId', r.imageId, SIZE.IMAGE_ID, OFFSET.IMAGE_ID);
  u32('vmpl', r.vmpl, OFFSET.VMPL);
  u32('signatureAlgo', r.signatureAlgo, OFFSET.SIGNATURE_ALGO);
  u64('currentTcb', r.currentTcb, OFFSET.CURRENT_TCB);
  u64('platformInfo', encodePlatformInfo(r.platformInfo), OFFSET.PLATFORM_INFO);
  u32('signerInfo', encodeSignerInfo(r.signerInfo), OFFSET.SIGNER_INFO);
  bytes('reportData', r.reportData, SIZE.REPORT_DATA, OFFSET.REPORT_DATA);
  bytes('measurement', r.measurement, SIZE.MEASUREMENT, OFFSET.MEASUREMENT);
  bytes('hostData', r.hostData, SIZE.HOST_DATA, OFFSET.HOST_DATA);
  bytes('idKeyDigest', r.idKeyDigest, SIZE.ID_KEY_DIGEST, OFFSET.ID_KEY_DIGEST);
  bytes('authorKeyDigest', r.authorKeyDigest, SIZE.AUTHOR_KEY_DIGEST, OFFSET.AUTHOR_KEY_DIGEST);
  bytes('reportId', r.reportId, SIZE.REPORT_ID, OFFSET.REPORT_ID);
  bytes('reportIdMa', r.reportIdMa, SIZE.REPORT_ID_MA, OFFSET.REPORT_ID_MA);
  u64('reportedTcb', r.reportedTcb, OFFSET.REPORTED_TCB);
  if (r.version >= 3) {
    field(r.cpuid !== undefined, `version ${r.version} needs cpuid`);
    u8('cpuid.family', r.cpuid!.family, OFFSET.CPUID_FAM_ID);
    u8('cpuid.model', r.cpuid!.model, OFFSET.CPUID_MOD_ID);
    u8('cpuid.stepping', r.cpuid!.stepping, OFFSET.CPUID_STEP);
  } else {
    field(r.cpuid === undefined, 'version 2 reports have no cpuid');
  }
  bytes('chipId', r.chipId, SIZE.CHIP_ID, OFFSET.CHIP_ID);
  u64('committedTcb', r.committedTcb, OFFSET.COMMITTED_TCB);
  u8('currentVersion.build', r.currentVersion.build, OFFSET.CURRENT_BUILD);
  u8('currentVersion.minor', r.currentVersion.minor, OFFSET.CURRENT_MINOR);
  u8('currentVersion.major', r.currentVersion.major, OFFSET.CURRENT_MAJOR);
  u8('committedVersion.build', r.committedVersion.build, OFFSET.COMMITTED_BUILD);
  u8('committedVersion.minor', r.committedVersion.minor, OFFSET.COMMITTED_MINOR);
  u8('committedVersion.major', r.committedVersion.major, OFFSET.COMMITTED_MAJOR);
  u64('launchTcb', r.launchTcb, OFFSET.LAUNCH_TCB);
  if (r.version >= 5) {
    field(
      r.launchMitVector !== undefined && r.currentMitVector !== undefined,
      'version 5 needs mitigation vectors',
    );
    u64('launchMitVector', r.launchMitVector!, OFFSET.LAUNCH_MIT_VECTOR);
    u64('currentMitVector', r.currentMitVector!, OFFSET.CURRENT_MIT_VECTOR);
  } else {
    field(
      r.launchMitVector === undefined && r.currentMitVector === undefined,
      `version ${r.version} reports have no mitigation vectors`,
    );
  }
  bytes('signature.r', r.signature.r, SIZE.SIGNATURE_COMPONENT, OFFSET.SIGNATURE_R);
  bytes('signature.s', r.signature.s, SIZE.SIGNATURE_COMPONENT, OFFSET.SIGNATURE_S);
  return b;
}

/**
 * An unsigned report of `version` with every field zero except the ones the ABI fixes: POLICY bit 17,
 * SIGNATURE_ALGO 1, the VCEK as signer and, for version 3+, `cpuid`. A starting point for building.
 */
export function blankReport(version: number, cpuid?: CpuidFms): AttestationReport {
  const zero = (n: number): Buffer => Buffer.alloc(n);
  const noFw = { major: 0, minor: 0, build: 0 };
  const noBits = <T>(names: readonly string[]): T => Object.fromEntries(names.map((n) => [n, false])) as T;
  return {
    version,
    guestSvn: 0,
    policy: {
      abiMinor: 0,
      abiMajor: 0,
      ...noBits<Omit<GuestPolicy, 'abiMinor' | 'abiMajor'>>([
        'smt',
        'migrateMa',
        'debug',
        'singleSocket',
        'cxlAllow',
        'memAes256Xts',
        'raplDis',
        'ciphertextHiding',
        'pageSwapDisable',
      ]),
    },
    familyId: zero(SIZE.FAMILY_ID),
    imageId: zero(SIZE.IMAGE_ID),
    vmpl: 0,
    signatureAlgo: SIGNATURE_ALGO_ECDSA_P384_SHA384,
    currentTcb: 0n,
    platformInfo: noBits<PlatformInfo>([
      'smtEnabled',
      'tsmeEnabled',
      'eccEnabled',
      'raplDisabled',
      'ciphertextHidingEnabled',
      'aliasCheckComplete',
      'tioEnabled',
    ]),
    signerInfo: { authorKeyEnabled: false, maskChipKey: false, signingKey: 'vcek' },
    reportData: zero(SIZE.REPORT_DATA),
    measurement: zero(SIZE.MEASUREMENT),
    hostData: zero(SIZE.HOST_DATA),
    idKeyDigest: zero(SIZE.ID_KEY_DIGEST),
    authorKeyDigest: zero(SIZE.AUTHOR_KEY_DIGEST),
    reportId: zero(SIZE.REPORT_ID),
    reportIdMa: zero(SIZE.REPORT_ID_MA),
    reportedTcb: 0n,
    cpuid: version >= 3 ? (cpuid ?? { family: 0, model: 0, stepping: 0 }) : undefined,
    chipId: zero(SIZE.CHIP_ID),
    committedTcb: 0n,
    currentVersion: noFw,
    committedVersion: noFw,
    launchTcb: 0n,
    launchMitVector: version >= 5 ? 0n : undefined,
    currentMitVector: version >= 5 ? 0n : undefined,
    signature: { r: zero(SIZE.SIGNATURE_COMPONENT), s: zero(SIZE.SIGNATURE_COMPONENT) },
  };
}
