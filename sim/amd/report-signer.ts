/**
 * The AMD secure processor's side of SNP_GUEST_REQUEST(MSG_REPORT_REQ): an ATTESTATION_REPORT with
 * the guest's REPORT_DATA and VMPL, everything else fixed at launch or by the platform, signed with
 * the VCEK of REPORTED_TCB. A signer is one launched guest: its HOST_DATA, measurement and policy are
 * set when it is created and nothing the guest sends can change them, as on real hardware.
 */
import crypto from 'node:crypto';
import {
  blankReport,
  decodeGuestPolicy,
  PRODUCT_CPUID,
  serializeReport,
  signReport,
  SIZE,
  type AttestationReport,
  type CpuidFms,
  type FirmwareVersion,
  type GuestPolicy,
  type PlatformInfo,
} from '../../core/snp/index.ts';
import { AmdSimError } from './errors.ts';
import { toTcb, type EndorsementKey, type FakeAmd, type TcbInput, type Vcek } from './fake-amd.ts';

/** What the host fixes when it launches the guest (SNP_LAUNCH_START / SNP_LAUNCH_FINISH). */
export interface LaunchConfig {
  /** HOST_DATA, 32 bytes (a policy digest in Kata/ACI); default all zero. */
  readonly hostData?: Uint8Array;
  /** MEASUREMENT, 48 bytes; default SHA-384 of a fixed label. */
  readonly measurement?: Uint8Array;
  /** Guest POLICY: a raw u64 or flags over the default (ABI 0.31, SMT allowed, as Azure's guests). */
  readonly policy?: bigint | Partial<GuestPolicy>;
  readonly familyId?: Uint8Array;
  readonly imageId?: Uint8Array;
  readonly guestSvn?: number;
  readonly idKeyDigest?: Uint8Array;
  /** Sets AUTHOR_KEY_EN as well. */
  readonly authorKeyDigest?: Uint8Array;
  /** REPORT_ID, 32 bytes; default random per launch. */
  readonly reportId?: Uint8Array;
  /** REPORT_ID_MA; default all 0xFF (no migration agent). */
  readonly reportIdMa?: Uint8Array;
  /** The VMPL the guest runs at; a request for a more privileged (lower) VMPL is refused. Default 0. */
  readonly guestVmpl?: number;
}

/** The platform's side: firmware, TCBs, report format. */
export interface SignerOptions {
  /**
   * ATTESTATION_REPORT version: 3 by default (firmware 1.55+), 2 (older), 1 (early firmware, as in
   * Azure's `AttestSevSnpVm` example: firmware versions zero) or 5 (1.58+, mitigation vectors).
   */
  readonly version?: 1 | 2 | 3 | 4 | 5;
  /** REPORTED_TCB, which selects the signing VCEK; default the platform's TCB. */
  readonly reportedTcb?: TcbInput;
  /** Default: REPORTED_TCB. */
  readonly currentTcb?: TcbInput;
  readonly committedTcb?: TcbInput;
  readonly launchTcb?: TcbInput;
  readonly currentVersion?: FirmwareVersion;
  readonly committedVersion?: FirmwareVersion;
  /** Flags over the default (SMT enabled). */
  readonly platformInfo?: Partial<PlatformInfo>;
  /** The host set MASK_CHIP_ID: CHIP_ID is reported as zeros. */
  readonly maskChipId?: boolean;
  /** The host set MASK_CHIP_KEY: the report is not signed (signature all zero). */
  readonly maskChipKey?: boolean;
  /** CPUID family/model/stepping for version 3+; default the product's. */
  readonly cpuid?: CpuidFms;
  /** Version 5 only; default 0. */
  readonly launchMitVector?: bigint;
  readonly currentMitVector?: bigint;
  /** The key that signs: the chip's VCEK (default) or the cloud provider's VLEK (SIGNING_KEY 1). */
  readonly signingKey?: EndorsementKey;
}

export interface ReportRequest {
  /** Exactly 64 bytes, as MSG_REPORT_REQ carries them. */
  readonly reportData: Uint8Array;
  /** 0–3; default the guest's own VMPL. */
  readonly vmpl?: number;
}

const FIRMWARE: Readonly<Record<number, FirmwareVersion>> = {
  1: { major: 0, minor: 0, build: 0 },
  2: { major: 1, minor: 52, build: 4 },
  3: { major: 1, minor: 55, build: 21 },
  4: { major: 1, minor: 57, build: 1 },
  5: { major: 1, minor: 58, build: 1 },
};

const DEFAULT_POLICY: Partial<GuestPolicy> = { abiMajor: 0, abiMinor: 31, smt: true };

function sized(name: string, value: Uint8Array | undefined, size: number, fallback: () => Buffer): Buffer {
  if (value === undefined) return fallback();
  if (value.length !== size)
    throw new AmdSimError('bad-option', `${name} must be ${size} bytes, got ${value.length}`);
  return Buffer.from(value);
}

export class ReportSigner {
  readonly amd: FakeAmd;
  readonly version: number;
  /** Every field but REPORT_DATA and VMPL, fixed at launch. */
  readonly #template: AttestationReport;
  readonly #guestVmpl: number;
  readonly #maskChipKey: boolean;
  readonly #reportedTcb: bigint;
  readonly #signingKey: EndorsementKey;

  constructor(amd: FakeAmd, launch: LaunchConfig = {}, options: SignerOptions = {}) {
    this.amd = amd;
    const version = options.version ?? 3;
    if (![1, 2, 3, 4, 5].includes(version)) {
      throw new AmdSimError('bad-option', `report version ${version} is not simulated (1, 2, 3, 4, 5)`);
    }
    this.version = version;
    const guestVmpl = launch.guestVmpl ?? 0;
    if (!Number.isInteger(guestVmpl) || guestVmpl < 0 || guestVmpl > 3) {
      throw new AmdSimError('bad-option', `guestVmpl ${guestVmpl} is not 0–3`);
    }
    this.#guestVmpl = guestVmpl;
    this.#maskChipKey = options.maskChipKey ?? false;
    this.#signingKey = options.signingKey ?? 'vcek';
    if (this.#signingKey !== 'vcek' && this.#signingKey !== 'vlek') {
      throw new AmdSimError('bad-option', `signingKey ${String(this.#signingKey)} is not vcek or vlek`);
    }
    const tcb = (v: TcbInput | undefined, fallback: bigint): bigint =>
      v === undefined ? fallback : toTcb(v, amd.product);
    const reportedTcb = tcb(options.reportedTcb, amd.tcb);
    this.#reportedTcb = reportedTcb;
    const blank = blankReport(
      version,
      version >= 3 ? (options.cpuid ?? PRODUCT_CPUID[amd.product]) : undefined,
    );
    const policy =
      typeof launch.policy === 'bigint'
        ? decodeGuestPolicy(launch.policy)
        : { ...blank.policy, ...DEFAULT_POLICY, ...launch.policy };
    const firmware = FIRMWARE[version]!;
    this.#template = {
      ...blank,
      guestSvn: launch.guestSvn ?? 0,
      policy,
      familyId: sized('familyId', launch.familyId, SIZE.FAMILY_ID, () => Buffer.alloc(SIZE.FAMILY_ID)),
      imageId: sized('imageId', launch.imageId, SIZE.IMAGE_ID, () => Buffer.alloc(SIZE.IMAGE_ID)),
      currentTcb: tcb(options.currentTcb, reportedTcb),
      platformInfo: { ...blank.platformInfo, smtEnabled: true, ...options.platformInfo },
      signerInfo: {
        authorKeyEnabled: launch.authorKeyDigest !== undefined,
        maskChipKey: this.#maskChipKey,
        signingKey: this.#signingKey,
      },
      measurement: sized('measurement', launch.measurement, SIZE.MEASUREMENT, () =>
        crypto.createHash('sha384').update('securekey simulated guest image').digest(),
      ),
      hostData: sized('hostData', launch.hostData, SIZE.HOST_DATA, () => Buffer.alloc(SIZE.HOST_DATA)),
      idKeyDigest: sized('idKeyDigest', launch.idKeyDigest, SIZE.ID_KEY_DIGEST, () =>
        Buffer.alloc(SIZE.ID_KEY_DIGEST),
      ),
      authorKeyDigest: sized('authorKeyDigest', launch.authorKeyDigest, SIZE.AUTHOR_KEY_DIGEST, () =>
        Buffer.alloc(SIZE.AUTHOR_KEY_DIGEST),
      ),
      reportId: sized('reportId', launch.reportId, SIZE.REPORT_ID, () => crypto.randomBytes(SIZE.REPORT_ID)),
      reportIdMa: sized('reportIdMa', launch.reportIdMa, SIZE.REPORT_ID_MA, () =>
        Buffer.alloc(SIZE.REPORT_ID_MA, 0xff),
      ),
      reportedTcb,
      chipId: options.maskChipId ? Buffer.alloc(SIZE.CHIP_ID) : Buffer.from(amd.chipId),
      committedTcb: tcb(options.committedTcb, reportedTcb),
      currentVersion: options.currentVersion ?? firmware,
      committedVersion: options.committedVersion ?? options.currentVersion ?? firmware,
      launchTcb: tcb(options.launchTcb, reportedTcb),
      launchMitVector: version >= 5 ? (options.launchMitVector ?? 0n) : undefined,
      currentMitVector: version >= 5 ? (options.currentMitVector ?? 0n) : undefined,
    };
    // Serialise once so a bad option fails at launch, not at the first request.
    serializeReport(this.#template);
  }

  /** HOST_DATA pinned at launch. */
  get hostData(): Buffer {
    return Buffer.from(this.#template.hostData);
  }

  /** The VMPL the guest runs at (configfs `privlevel_floor`). */
  get guestVmpl(): number {
    return this.#guestVmpl;
  }

  /** Which key signs the reports: the chip's VCEK or the cloud provider's VLEK. */
  get signingKey(): EndorsementKey {
    return this.#signingKey;
  }

  /** The key that signs: the chip's VCEK for REPORTED_TCB, or the VLEK for it. */
  get vcek(): Vcek {
    return this.#signingKey === 'vlek'
      ? this.amd.vlekFor(this.#reportedTcb)
      : this.amd.vcekFor(this.#reportedTcb);
  }

  /** The report the firmware would produce for `request`, unsigned. Throws AmdSimError for bad input. */
  report(request: ReportRequest): AttestationReport {
    const { reportData } = request;
    if (!(reportData instanceof Uint8Array) || reportData.length !== SIZE.REPORT_DATA) {
      throw new AmdSimError(
        'bad-report-data',
        `REPORT_DATA must be ${SIZE.REPORT_DATA} bytes, got ${(reportData as Uint8Array | undefined)?.length}`,
      );
    }
    const vmpl = request.vmpl ?? this.#guestVmpl;
    if (!Number.isInteger(vmpl) || vmpl < this.#guestVmpl || vmpl > 3) {
      throw new AmdSimError(
        'bad-vmpl',
        `VMPL ${vmpl} is not in ${this.#guestVmpl}–3 (the guest runs at VMPL ${this.#guestVmpl})`,
      );
    }
    return { ...this.#template, reportData: Buffer.from(reportData), vmpl };
  }

  /** The signed 0x4A0-byte report. */
  sign(request: ReportRequest): Buffer {
    const bytes = serializeReport(this.report(request));
    return this.#maskChipKey ? bytes : signReport(bytes, this.vcek.privateKey);
  }
}
