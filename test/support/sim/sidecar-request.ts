/**
 * Test support: SEV-SNP evidence signed by a fake AMD chain (sim/amd/hierarchy.ts), and the
 * attest request body built exactly as the Microsoft SKR sidecar builds it (`pkg/common/maa.go`,
 * the SKR sidecar, `pkg/attest`): Go's `base64.URLEncoding` (URL-safe, padded), struct members in declaration order,
 * `initTimeData` always present and empty, `nonce` a bare JSON number.
 */
import crypto, { type X509Certificate } from 'node:crypto';
import {
  blankReport,
  composeTcb,
  PRODUCT_CPUID,
  serializeReport,
  signReport,
  type AttestationReport,
  type SnpProduct,
  type TcbPartsInput,
} from '../../../core/snp/index.ts';
import { buildArk, buildAsk, buildVcek, type FakeAmdKeys } from '../../../sim/amd/hierarchy.ts';

export interface FakeSnp {
  readonly product: SnpProduct;
  readonly keys: FakeAmdKeys;
  readonly ark: X509Certificate;
  readonly ask: X509Certificate;
  readonly vcek: X509Certificate;
  readonly chipId: Buffer;
  /** The TCB the VCEK certifies (= REPORTED_TCB of the reports made here). */
  readonly reportedTcb: TcbPartsInput;
  /** A newer TCB reported as CURRENT_TCB, so tests can tell the two apart. */
  readonly currentTcb: TcbPartsInput;
}

export const MILAN_REPORTED_TCB: TcbPartsInput = { blSpl: 9, teeSpl: 0, snpSpl: 23, ucodeSpl: 210 };
export const MILAN_CURRENT_TCB: TcbPartsInput = { blSpl: 10, teeSpl: 1, snpSpl: 24, ucodeSpl: 211 };

/** A Milan chain for `keys`; `keys.ark` may differ from the key that signed a previous chain. */
export function fakeSnp(keys: FakeAmdKeys, reportedTcb: TcbPartsInput = MILAN_REPORTED_TCB): FakeSnp {
  const product: SnpProduct = 'Milan';
  const chipId = crypto.createHash('sha512').update('fake chip').digest();
  const ark = buildArk(product, keys.ark);
  const ask = buildAsk(product, keys.ask, { cert: ark, privateKey: keys.ark.privateKey });
  const vcek = buildVcek({
    ask: { cert: ask, privateKey: keys.ask.privateKey },
    publicKey: keys.vcek.publicKey,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
    extensions: {
      structVersion: 1,
      productName: 'Milan-B0',
      blSpl: reportedTcb.blSpl,
      teeSpl: reportedTcb.teeSpl,
      spl4: 0,
      spl5: 0,
      spl6: 0,
      spl7: 0,
      snpSpl: reportedTcb.snpSpl,
      ucodeSpl: reportedTcb.ucodeSpl,
      hwId: chipId,
    },
  });
  return { product, keys, ark, ask, vcek, chipId, reportedTcb, currentTcb: MILAN_CURRENT_TCB };
}

/** Distinct, recognisable values for every field that becomes a claim. */
export const REPORT_FIELDS = {
  guestSvn: 7,
  familyId: Buffer.from('0100000000000000000000000000000f', 'hex'),
  imageId: Buffer.from('0200000000000000000000000000000e', 'hex'),
  measurement: crypto.createHash('sha384').update('launch measurement').digest(),
  hostData: crypto.createHash('sha256').update('kata agent policy').digest(),
  idKeyDigest: crypto.createHash('sha384').update('id key').digest(),
  authorKeyDigest: crypto.createHash('sha384').update('author key').digest(),
  reportId: crypto.createHash('sha256').update('report id').digest(),
} as const;

export interface ReportOptions {
  reportData: Buffer;
  debug?: boolean;
  change?: Partial<AttestationReport>;
}

/** A version 3 report signed by the fake VCEK. */
export function signedReport(snp: FakeSnp, o: ReportOptions): Buffer {
  const base = blankReport(3, PRODUCT_CPUID[snp.product]);
  const reported = composeTcb(snp.reportedTcb, snp.product);
  const report: AttestationReport = {
    ...base,
    ...REPORT_FIELDS,
    policy: { ...base.policy, abiMajor: 1, abiMinor: 55, smt: true, debug: o.debug === true },
    currentTcb: composeTcb(snp.currentTcb, snp.product),
    reportedTcb: reported,
    committedTcb: reported,
    launchTcb: reported,
    chipId: snp.chipId,
    reportData: o.reportData,
    ...o.change,
  };
  return signReport(serializeReport(report), snp.keys.vcek.privateKey);
}

/** PEM VCEK ‖ ASK ‖ ARK, the sidecar's VcekCertChain. */
export function chainPem(...certs: X509Certificate[]): string {
  return certs.map((c) => c.toString()).join('');
}

/** Go `base64.URLEncoding`: URL-safe alphabet with `=` padding. */
export function goUrlBase64(bytes: Uint8Array | string): string {
  const b = Buffer.from(bytes);
  const raw = b.toString('base64url');
  return raw + '='.repeat((4 - (raw.length % 4)) % 4);
}

export interface SidecarRequest {
  report: Buffer;
  vcekCertChain: string;
  /** The runtime JWKS bytes; the sidecar always sends some (left out only for tests). */
  runtimeData?: Buffer;
  /** Digits of a uint64 (the sidecar's random nonce). */
  nonce?: bigint;
  /** `Endorsements` JSON (the UVM reference info); omitted when undefined, as Go's omitempty. */
  endorsements?: Record<string, unknown>;
}

/** The request body, byte for byte as the sidecar's `json.Marshal` writes it. */
export function sidecarRequestBody(r: SidecarRequest): string {
  const evidence = JSON.stringify({
    SnpReport: goUrlBase64(r.report),
    VcekCertChain: goUrlBase64(r.vcekCertChain),
    ...(r.endorsements === undefined ? {} : { Endorsements: goUrlBase64(JSON.stringify(r.endorsements)) }),
  });
  const head = JSON.stringify({
    report: goUrlBase64(evidence),
    ...(r.runtimeData === undefined
      ? {}
      : { runtimeData: { data: goUrlBase64(r.runtimeData), dataType: 'JSON' } }),
    initTimeData: { data: '', dataType: '' },
  });
  // A bare number: JSON.stringify cannot write a uint64 without losing digits.
  return r.nonce === undefined ? head : `${head.slice(0, -1)},"nonce":${r.nonce.toString()}}`;
}
