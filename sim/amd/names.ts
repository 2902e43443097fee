/**
 * What AMD writes into its SEV-SNP certificates (research A3.1, checked against the published
 * Milan, Genoa and Turin chains): subject layout, CRL distribution points, validity, serials, and
 * the KDS product names of VCEKs.
 */
import type { NameAttributeInput } from '../../core/x509/index.ts';
import type { SnpProduct } from '../../core/snp/index.ts';

/** AMD's subject and issuer layout, in AMD's order: OU, C, L, ST, O, CN. */
export function amdName(cn: string): NameAttributeInput[] {
  return [
    { type: 'OU', value: 'Engineering' },
    { type: 'C', value: 'US' },
    { type: 'L', value: 'Santa Clara' },
    { type: 'ST', value: 'CA' },
    { type: 'O', value: 'Advanced Micro Devices' },
    { type: 'CN', value: cn },
  ];
}

export const KDS_BASE_URL = 'https://kdsintf.amd.com';

/** The one CRL distribution point of an ARK or ASK. */
export function crlUrl(product: SnpProduct): string {
  return `${KDS_BASE_URL}/vcek/v1/${product}/crl`;
}

/**
 * The VCEK `productName` extension: the product and its stepping. Milan-B0 and Genoa-B1 are what
 * AMD's KDS issues; Turin's stepping suffix is our assumption (verifiers read only the part before `-`).
 */
export const DEFAULT_PRODUCT_NAMES: Readonly<Record<SnpProduct, string>> = {
  Milan: 'Milan-B0',
  Genoa: 'Genoa-B1',
  Turin: 'Turin-C0',
};

/** Serial numbers as AMD numbers its roots: ARK 0x<n>0000, ASK 0x<n>0001 (n = 1 Milan, 2 Genoa, 3 Turin). */
export const ROOT_SERIALS: Readonly<Record<SnpProduct, { ark: number; ask: number }>> = {
  Milan: { ark: 0x10000, ask: 0x10001 },
  Genoa: { ark: 0x20000, ask: 0x20001 },
  Turin: { ark: 0x30000, ask: 0x30001 },
};

/**
 * When AMD issued each product's ARK; the ASK follows within the hour. Both are valid for 25 years,
 * which is what go-sev-guest's fakes use too.
 */
export const ROOT_ISSUED: Readonly<Record<SnpProduct, Date>> = {
  Milan: new Date('2020-10-22T17:23:05Z'),
  Genoa: new Date('2022-01-26T15:34:37Z'),
  Turin: new Date('2023-05-15T20:03:12Z'),
};

export const ROOT_VALIDITY_YEARS = 25;
/** A VCEK is valid for 7 years from the day KDS issues it. */
export const VCEK_VALIDITY_YEARS = 7;

export function addYears(date: Date, years: number): Date {
  const d = new Date(date.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}
