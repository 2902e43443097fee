/**
 * Is the evidence genuine? The report's signature by the VCEK (or VLEK, as its SIGNING_KEY says), the
 * chain up to the pinned ARK (verify-chain.ts), and the VCEK's claims about the chip and TCB matching
 * the report (a VLEK's about the TCB only). Nothing here
 * is policy (debug, VMPL, minimum TCB): that is validate.ts.
 *
 * Throws SnpVerifyError for evidence that is not genuine, SnpFormatError for malformed bytes
 * (report, signature, KDS extensions) and X509Error for certificates that do not parse.
 */
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { publicKeyOf } from '../x509/index.ts';
import { SnpFormatError, SnpVerifyError } from './errors.ts';
import type { KdsExtensions } from './kds.ts';
import { OFFSET, REPORT_SIZE, SIGNED_LENGTH } from './layout.ts';
import { parseReport, type AttestationReport } from './report.ts';
import { amdSignatureToP1363, readReportSignature } from './signature.ts';
import { decomposeTcb, productFromCpuid, type SnpProduct, type TcbParts } from './tcb.ts';
import type { VcekChain } from './chain.ts';
import { checkP384, verifyVcekChain, type VerifiedChain, type VerifyChainOptions } from './verify-chain.ts';

export interface VerifiedAttestation {
  readonly report: AttestationReport;
  readonly product: SnpProduct;
  /** REPORTED_TCB decomposed in the product's layout; equal to the VCEK's SPL extensions. */
  readonly reportedTcb: TcbParts;
  readonly chain: VerifiedChain;
}

/** Verifies the ECDSA P-384 / SHA-384 signature over report bytes 0x000–0x29F. */
export function verifyReportSignature(report: Uint8Array, vcek: X509Certificate | KeyObject): void {
  if (report.length !== REPORT_SIZE) {
    throw new SnpFormatError(
      'bad-length',
      `attestation report is ${report.length} bytes, expected ${REPORT_SIZE}`,
    );
  }
  const key = vcek instanceof X509Certificate ? publicKeyOf(vcek, 'VCEK') : vcek;
  checkP384(key, 'VCEK');
  const signature = amdSignatureToP1363(readReportSignature(report));
  const ok = crypto.verify(
    'sha384',
    report.subarray(0, SIGNED_LENGTH),
    { key, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!ok) {
    throw new SnpVerifyError('signature-invalid', 'the report signature does not verify with the VCEK', {
      hint: 'the report was altered, or the VCEK belongs to another chip or TCB',
    });
  }
}

/**
 * The VCEK's hwID and SPL extensions against the report's CHIP_ID and REPORTED_TCB. A VLEK belongs to
 * no chip: it carries no hwID and only its SPLs are checked.
 */
export function checkReportAgainstVcek(
  report: AttestationReport,
  product: SnpProduct,
  ext: KdsExtensions,
  signingKey: 'vcek' | 'vlek' = 'vcek',
): TcbParts {
  if (signingKey === 'vlek') {
    if (ext.hwId !== undefined) {
      throw new SnpVerifyError(
        'unsupported-signing-key',
        'the report is signed by a VLEK, but this is a VCEK',
        {
          hint: "the VLEK comes with the host's certificate table, not from THIM or KDS's VCEK endpoint",
        },
      );
    }
    return checkTcb(report, product, ext, 'VLEK');
  }
  const hwId = ext.hwId;
  if (hwId === undefined) throw new SnpVerifyError('chip-id-mismatch', 'the VCEK has no hwID extension');
  // Turin's hwID is the first 8 bytes of CHIP_ID, whose other bytes are zero; Milan/Genoa use all 64.
  const n = hwId.length;
  const matches =
    (n === 64 || product === 'Turin') &&
    report.chipId.subarray(0, n).equals(hwId) &&
    report.chipId.subarray(n).every((b) => b === 0);
  if (!matches) {
    const masked = report.chipId.every((b) => b === 0);
    throw new SnpVerifyError(
      'chip-id-mismatch',
      `the VCEK's hwID (${n} bytes) does not match the report's CHIP_ID`,
      {
        hint: masked
          ? 'CHIP_ID is zero: the host set MASK_CHIP_ID, so no VCEK can be matched'
          : 'the VCEK is for another chip',
      },
    );
  }
  return checkTcb(report, product, ext, 'VCEK');
}

function checkTcb(
  report: AttestationReport,
  product: SnpProduct,
  ext: KdsExtensions,
  what: string,
): TcbParts {
  const tcb = decomposeTcb(report.reportedTcb, product);
  const pairs: [string, number | undefined, number][] = [
    ['blSPL', ext.blSpl, tcb.blSpl],
    ['teeSPL', ext.teeSpl, tcb.teeSpl],
    ['snpSPL', ext.snpSpl, tcb.snpSpl],
    ['ucodeSPL', ext.ucodeSpl, tcb.ucodeSpl],
  ];
  for (const [name, cert, reported] of pairs) {
    if (cert === undefined) throw new SnpVerifyError('tcb-mismatch', `the ${what} has no ${name} extension`);
    if (cert !== reported) {
      throw new SnpVerifyError(
        'tcb-mismatch',
        `${what} ${name} ${cert} differs from REPORTED_TCB ${reported}`,
        {
          hint: `fetch the ${what} for the report's REPORTED_TCB`,
        },
      );
    }
  }
  if (product === 'Turin') {
    // structVersion 1 is the Turin layout, which always names the FMC level; an older VCEK without
    // fmcSPL can only vouch for FMC level 0 (as the Trustee verifier does).
    if ((ext.structVersion ?? 0) >= 1 && ext.fmcSpl === undefined) {
      throw new SnpVerifyError(
        'tcb-mismatch',
        `the ${what} (structVersion ${ext.structVersion}) has no fmcSPL extension`,
      );
    }
    if ((ext.fmcSpl ?? 0) !== tcb.fmcSpl) {
      throw new SnpVerifyError(
        'tcb-mismatch',
        `${what} fmcSPL ${ext.fmcSpl ?? '(absent)'} differs from REPORTED_TCB ${tcb.fmcSpl}`,
      );
    }
    // Turin's reserved TCB bytes 4–6 are what its VCEK calls spl_5–spl_7.
    const reserved = [ext.spl5, ext.spl6, ext.spl7];
    reserved.forEach((cert, i) => {
      if (cert !== undefined && cert !== tcb.reserved[i]) {
        throw new SnpVerifyError(
          'tcb-mismatch',
          `${what} spl_${i + 5} ${cert} differs from REPORTED_TCB byte ${i + 4} (${tcb.reserved[i]})`,
        );
      }
    });
  } else {
    const reserved = [ext.spl4, ext.spl5, ext.spl6, ext.spl7];
    reserved.forEach((cert, i) => {
      if (cert !== undefined && cert !== tcb.reserved[i]) {
        throw new SnpVerifyError(
          'tcb-mismatch',
          `${what} spl_${i + 4} ${cert} differs from REPORTED_TCB byte ${i + 2} (${tcb.reserved[i]})`,
        );
      }
    });
  }
  return tcb;
}

export interface Evidence extends VcekChain {
  /** The 0x4A0-byte report as the firmware returned it. */
  readonly report: Uint8Array;
}

/**
 * Verifies evidence end to end: the chain, then the signature over the raw bytes (so any change to
 * the signed part reads as `signature-invalid`), then the report's format, its product (CPUID,
 * version 3+) and its binding to the VCEK.
 */
export function verifyAttestation(evidence: Evidence, options: VerifyChainOptions): VerifiedAttestation {
  if (evidence.report.length !== REPORT_SIZE) {
    throw new SnpFormatError(
      'bad-length',
      `attestation report is ${evidence.report.length} bytes, expected ${REPORT_SIZE}`,
    );
  }
  // SIGNING_KEY (bits 2–4 of the dword at 0x48) says which chain to expect; it is signed, so a report
  // that claims the other key fails the signature check. Other values are refused once parsed.
  const bytes = Buffer.from(evidence.report);
  const claimsVlek = ((bytes.readUInt32LE(OFFSET.SIGNER_INFO) >> 2) & 7) === 1;
  const chain = verifyVcekChain(evidence, { ...options, expectedKey: claimsVlek ? 'vlek' : 'vcek' });
  verifyReportSignature(evidence.report, chain.vcek);
  const report = parseReport(evidence.report);
  if (report.signerInfo.signingKey !== chain.signingKey) {
    throw new SnpVerifyError(
      'unsupported-signing-key',
      `the report says it is signed by ${report.signerInfo.signingKey}, not a ${chain.signingKey.toUpperCase()}`,
    );
  }
  if (report.cpuid !== undefined) {
    const fromCpuid = productFromCpuid(report.cpuid);
    if (fromCpuid !== chain.product) {
      throw new SnpVerifyError(
        'product-mismatch',
        `the report's CPUID is a ${fromCpuid}, the chain is for ${chain.product}`,
      );
    }
  }
  const reportedTcb = checkReportAgainstVcek(report, chain.product, chain.extensions, chain.signingKey);
  return { report, product: chain.product, reportedTcb, chain };
}
