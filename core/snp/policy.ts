/**
 * The report's bitfields: guest POLICY (u64 @0x08), PLATFORM_INFO (u64 @0x40) and the signer info
 * dword (@0x48). Decoding is strict (reserved bits rejected) so encoding the decoded object gives
 * the same bits back.
 */
import { SnpFormatError } from './errors.ts';
import { OFFSET } from './layout.ts';

export interface GuestPolicy {
  readonly abiMinor: number;
  readonly abiMajor: number;
  /** Bit 16: SMT allowed. */
  readonly smt: boolean;
  /** Bit 18: association with a migration agent allowed. */
  readonly migrateMa: boolean;
  /** Bit 19: debugging allowed. */
  readonly debug: boolean;
  /** Bit 20: the guest may run on one socket only. */
  readonly singleSocket: boolean;
  /** Bit 21: CXL may be populated with guest memory. */
  readonly cxlAllow: boolean;
  /** Bit 22: AES-256-XTS required for memory encryption. */
  readonly memAes256Xts: boolean;
  /** Bit 23: Running Average Power Limit must be disabled. */
  readonly raplDis: boolean;
  /** Bit 24: ciphertext hiding for DRAM required. */
  readonly ciphertextHiding: boolean;
  /** Bit 25: page swap (SNP_PAGE_SWAP_OUT/IN) disabled. */
  readonly pageSwapDisable: boolean;
}

const POLICY_FLAGS: readonly [keyof GuestPolicy, number][] = [
  ['smt', 16],
  ['migrateMa', 18],
  ['debug', 19],
  ['singleSocket', 20],
  ['cxlAllow', 21],
  ['memAes256Xts', 22],
  ['raplDis', 23],
  ['ciphertextHiding', 24],
  ['pageSwapDisable', 25],
];
/** Bit 17 is reserved and must be one. */
export const POLICY_RESERVED_ONE = 1n << 17n;
const POLICY_MBZ = ~((1n << 26n) - 1n) & 0xffff_ffff_ffff_ffffn;

const bit = (raw: bigint, n: number): boolean => ((raw >> BigInt(n)) & 1n) === 1n;

export function decodeGuestPolicy(raw: bigint): GuestPolicy {
  if ((raw & POLICY_RESERVED_ONE) === 0n) {
    throw new SnpFormatError('bad-policy', `POLICY 0x${raw.toString(16)}: reserved bit 17 must be 1`, {
      offset: OFFSET.POLICY,
    });
  }
  if ((raw & POLICY_MBZ) !== 0n) {
    throw new SnpFormatError('bad-policy', `POLICY 0x${raw.toString(16)}: bits 26–63 must be zero`, {
      offset: OFFSET.POLICY,
    });
  }
  const flags = Object.fromEntries(POLICY_FLAGS.map(([name, n]) => [name, bit(raw, n)]));
  return { abiMinor: Number(raw & 0xffn), abiMajor: Number((raw >> 8n) & 0xffn), ...flags } as GuestPolicy;
}

export function encodeGuestPolicy(policy: GuestPolicy): bigint {
  for (const [name, v] of [
    ['abiMinor', policy.abiMinor],
    ['abiMajor', policy.abiMajor],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new SnpFormatError('bad-field', `POLICY ${name} ${v} is not a byte`);
  }
  let raw = BigInt(policy.abiMinor) | (BigInt(policy.abiMajor) << 8n) | POLICY_RESERVED_ONE;
  for (const [name, n] of POLICY_FLAGS) if (policy[name]) raw |= 1n << BigInt(n);
  return raw;
}

export interface PlatformInfo {
  /** Bit 0: SMT enabled in the system. */
  readonly smtEnabled: boolean;
  /** Bit 1: transparent SME enabled. */
  readonly tsmeEnabled: boolean;
  /** Bit 2: ECC memory in use. */
  readonly eccEnabled: boolean;
  /** Bit 3: RAPL disabled. */
  readonly raplDisabled: boolean;
  /** Bit 4: ciphertext hiding for DRAM enabled. */
  readonly ciphertextHidingEnabled: boolean;
  /** Bit 5: alias check (BadRAM mitigation) complete. */
  readonly aliasCheckComplete: boolean;
  /** Bit 7: SEV-TIO enabled. */
  readonly tioEnabled: boolean;
}

const PLATFORM_FLAGS: readonly [keyof PlatformInfo, number][] = [
  ['smtEnabled', 0],
  ['tsmeEnabled', 1],
  ['eccEnabled', 2],
  ['raplDisabled', 3],
  ['ciphertextHidingEnabled', 4],
  ['aliasCheckComplete', 5],
  ['tioEnabled', 7],
];
// Bit 6 and everything above bit 7 are reserved (go-sev-guest rejects them as well).
const PLATFORM_RESERVED = ~0xbfn & 0xffff_ffff_ffff_ffffn;

export function decodePlatformInfo(raw: bigint): PlatformInfo {
  if ((raw & PLATFORM_RESERVED) !== 0n) {
    throw new SnpFormatError(
      'bad-platform-info',
      `PLATFORM_INFO 0x${raw.toString(16)} has reserved bits set (bit 6 or above bit 7)`,
      { offset: OFFSET.PLATFORM_INFO },
    );
  }
  return Object.fromEntries(
    PLATFORM_FLAGS.map(([name, n]) => [name, bit(raw, n)]),
  ) as unknown as PlatformInfo;
}

export function encodePlatformInfo(info: PlatformInfo): bigint {
  let raw = 0n;
  for (const [name, n] of PLATFORM_FLAGS) if (info[name]) raw |= 1n << BigInt(n);
  return raw;
}

/** Bits 2–4 of the signer info: which key signed the report. 2–6 are reserved. */
export type SigningKey = 'vcek' | 'vlek' | 'none';

const SIGNING_KEY_CODES: Readonly<Record<SigningKey, number>> = { vcek: 0, vlek: 1, none: 7 };

export interface SignerInfo {
  /** Bit 0: the ID block was signed with an author key (AUTHOR_KEY_DIGEST is set). */
  readonly authorKeyEnabled: boolean;
  /** Bit 1: MASK_CHIP_KEY — the VCEK is not used (the report is signed with zeros). */
  readonly maskChipKey: boolean;
  readonly signingKey: SigningKey;
}

export function decodeSignerInfo(raw: number): SignerInfo {
  if (raw >>> 5 !== 0) {
    throw new SnpFormatError('bad-signer-info', `signer info 0x${raw.toString(16)}: bits 5–31 must be zero`, {
      offset: OFFSET.SIGNER_INFO,
    });
  }
  const code = (raw >>> 2) & 7;
  const signingKey = (Object.keys(SIGNING_KEY_CODES) as SigningKey[]).find(
    (k) => SIGNING_KEY_CODES[k] === code,
  );
  if (signingKey === undefined) {
    throw new SnpFormatError('bad-signer-info', `signer info SIGNING_KEY ${code} is reserved`, {
      offset: OFFSET.SIGNER_INFO,
    });
  }
  return { authorKeyEnabled: (raw & 1) !== 0, maskChipKey: (raw & 2) !== 0, signingKey };
}

export function encodeSignerInfo(info: SignerInfo): number {
  const code = SIGNING_KEY_CODES[info.signingKey];
  if (code === undefined)
    throw new SnpFormatError('bad-field', `unknown signing key "${String(info.signingKey)}"`);
  return (info.authorKeyEnabled ? 1 : 0) | (info.maskChipKey ? 2 : 0) | (code << 2);
}
