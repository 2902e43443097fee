/**
 * TCB_VERSION (u64, little-endian) and the SNP product it belongs to. Milan and Genoa use one byte
 * layout, Turin another (virtee `TcbVersion::{from_legacy_bytes, from_turin_bytes}`):
 *
 *   byte      0     1     2     3     4     5     6     7
 *   Milan/Genoa  BL    TEE   rsv   rsv   rsv   rsv   SNP   UCODE
 *   Turin        FMC   BL    TEE   SNP   rsv   rsv   rsv   UCODE
 */
import { SnpFormatError } from './errors.ts';

export const SNP_PRODUCTS = ['Milan', 'Genoa', 'Turin'] as const;
export type SnpProduct = (typeof SNP_PRODUCTS)[number];

export function isSnpProduct(name: string): name is SnpProduct {
  return (SNP_PRODUCTS as readonly string[]).includes(name);
}

export type TcbLayout = 'milan-genoa' | 'turin';

export function tcbLayout(product: SnpProduct): TcbLayout {
  return product === 'Turin' ? 'turin' : 'milan-genoa';
}

/** A decomposed TCB_VERSION; every component is a security patch level (SPL) byte. */
export interface TcbParts {
  readonly blSpl: number;
  readonly teeSpl: number;
  readonly snpSpl: number;
  readonly ucodeSpl: number;
  /** Turin only; undefined for Milan and Genoa. */
  readonly fmcSpl: number | undefined;
  /**
   * The reserved bytes, kept so that compose(decompose(x)) == x: Milan/Genoa bytes 2–5 (the KDS
   * calls them spl_4..spl_7), Turin bytes 4–6.
   */
  readonly reserved: readonly number[];
}

/** The input to `composeTcb`: reserved bytes default to zero, fmcSpl is Turin-only. */
export type TcbPartsInput = Omit<TcbParts, 'fmcSpl' | 'reserved'> & {
  readonly fmcSpl?: number | undefined;
  readonly reserved?: readonly number[];
};

const U64_MAX = 0xffff_ffff_ffff_ffffn;

function tcbBytes(raw: bigint): Buffer {
  if (raw < 0n || raw > U64_MAX) throw new SnpFormatError('bad-tcb', `TCB_VERSION ${raw} is not a u64`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(raw);
  return b;
}

export function decomposeTcb(raw: bigint, product: SnpProduct): TcbParts {
  const b = tcbBytes(raw);
  if (tcbLayout(product) === 'turin') {
    return {
      fmcSpl: b[0]!,
      blSpl: b[1]!,
      teeSpl: b[2]!,
      snpSpl: b[3]!,
      reserved: [b[4]!, b[5]!, b[6]!],
      ucodeSpl: b[7]!,
    };
  }
  return {
    fmcSpl: undefined,
    blSpl: b[0]!,
    teeSpl: b[1]!,
    reserved: [b[2]!, b[3]!, b[4]!, b[5]!],
    snpSpl: b[6]!,
    ucodeSpl: b[7]!,
  };
}

export function composeTcb(parts: TcbPartsInput, product: SnpProduct): bigint {
  const turin = tcbLayout(product) === 'turin';
  const reserved = parts.reserved ?? (turin ? [0, 0, 0] : [0, 0, 0, 0]);
  if (reserved.length !== (turin ? 3 : 4)) {
    throw new SnpFormatError(
      'bad-tcb',
      `${product} TCB has ${turin ? 3 : 4} reserved bytes, got ${reserved.length}`,
    );
  }
  if (!turin && parts.fmcSpl !== undefined && parts.fmcSpl !== 0) {
    throw new SnpFormatError('bad-tcb', `${product} TCB has no FMC component (fmcSpl ${parts.fmcSpl})`);
  }
  const check = (name: string, v: number | undefined): number => {
    const n = v ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 255)
      throw new SnpFormatError('bad-tcb', `TCB ${name} ${v} is not a byte`);
    return n;
  };
  const bytes = turin
    ? [parts.fmcSpl, parts.blSpl, parts.teeSpl, parts.snpSpl, ...reserved, parts.ucodeSpl]
    : [parts.blSpl, parts.teeSpl, ...reserved, parts.snpSpl, parts.ucodeSpl];
  const names = turin
    ? ['fmcSpl', 'blSpl', 'teeSpl', 'snpSpl', 'reserved', 'reserved', 'reserved', 'ucodeSpl']
    : ['blSpl', 'teeSpl', 'reserved', 'reserved', 'reserved', 'reserved', 'snpSpl', 'ucodeSpl'];
  return Buffer.from(bytes.map((v, i) => check(names[i]!, v))).readBigUInt64LE();
}

/** The CPUID family/model/stepping a v3+ report carries at 0x188. */
export interface CpuidFms {
  readonly family: number;
  readonly model: number;
  readonly stepping: number;
}

/**
 * The product for a CPUID family and model (AMD 57230 §1.5 and the Trustee verifier): family 19h
 * models 00–0Fh are Milan, 10–1Fh and A0–AFh (Bergamo, Siena) Genoa; family 1Ah models 00–1Fh Turin.
 */
export function productFromCpuid(cpuid: Pick<CpuidFms, 'family' | 'model'>): SnpProduct {
  const { family, model } = cpuid;
  if (family === 0x19 && model <= 0x0f) return 'Milan';
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)))
    return 'Genoa';
  if (family === 0x1a && model <= 0x1f) return 'Turin';
  throw new SnpFormatError(
    'unknown-product',
    `CPUID family 0x${family.toString(16)} model 0x${model.toString(16)} is not a known SEV-SNP product`,
    { hint: 'supported products are Milan, Genoa and Turin' },
  );
}

/** A representative CPUID per product, for building reports (Milan B1, Genoa B1, Turin). */
export const PRODUCT_CPUID: Readonly<Record<SnpProduct, CpuidFms>> = {
  Milan: { family: 0x19, model: 0x01, stepping: 0x1 },
  Genoa: { family: 0x19, model: 0x11, stepping: 0x1 },
  Turin: { family: 0x1a, model: 0x02, stepping: 0x1 },
};
