/**
 * What MAA checks before it issues a SEV-SNP token (the checks a verifier of the evidence must make), in this order (MAA's own order is
 * not public):
 *  1. the evidence is genuine — VCEK ← ASK ← ARK (or VLEK ← ASVK ← ARK for a report a VLEK signed) up
 *     to an ARK this instance trusts for the product,
 *     the report's signature, its CHIP_ID and REPORTED_TCB against the VCEK (core/snp) → InvalidQuote;
 *  2. the request's data is bound — REPORT_DATA = sha256(runtimeData) ‖ 0³², and, when initTimeData is
 *     given, HOST_DATA = sha256(initTimeData) → InvalidParameter;
 *  3. the attestation policy — a debuggable guest is denied only when the instance is configured so
 *     (real MAA attests it and leaves the decision to the release policy) → PolicyEvaluationError.
 */
import crypto, { type X509Certificate } from 'node:crypto';
import type { SecureKeyError } from '../../core/errors.ts';
import { RuntimeDataError } from '../../core/runtime-data/errors.ts';
import { checkReportDataBinding } from '../../core/runtime-data/report-data.ts';
import {
  identifyAmdCertificate,
  SnpFormatError,
  SnpVerifyError,
  verifyAttestation,
  type AttestationReport,
  type SnpProduct,
} from '../../core/snp/index.ts';
import { parsePemCertificates, X509Error } from '../../core/x509/index.ts';
import { invalidParameter, MaaError } from './errors.ts';
import type { AttestSevSnpRequest } from './request.ts';
import { pickTrustedArk, type TrustedArks } from './trusted-arks.ts';

export interface EvidencePolicy {
  readonly trustedArks: TrustedArks;
  readonly refuseDebug: boolean;
  /** Certificates must be valid at this time. */
  readonly now: Date;
}

export interface VerifiedEvidence {
  readonly report: AttestationReport;
  readonly product: SnpProduct;
}

function invalidQuote(err: SecureKeyError<MaaError['kind']>): MaaError {
  return new MaaError('InvalidQuote', err.kind, `The specified quote was invalid: ${err.message}.`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    cause: err,
  });
}

function certificateChain(pem: string): [X509Certificate, X509Certificate, X509Certificate] {
  let certs: X509Certificate[];
  try {
    certs = parsePemCertificates(pem);
  } catch (err) {
    throw new MaaError(
      'InvalidQuote',
      'bad-certificate-chain',
      `The specified quote was invalid due to an error in the quote collateral: VcekCertChain ${(err as Error).message}.`,
      { cause: err },
    );
  }
  if (certs.length !== 3) {
    throw new MaaError(
      'InvalidQuote',
      'bad-certificate-chain',
      `The specified quote was invalid due to an error in the quote collateral: VcekCertChain holds ${certs.length} certificates, expected 3 (VCEK, ASK, ARK or VLEK, ASVK, ARK).`,
    );
  }
  return certs as [X509Certificate, X509Certificate, X509Certificate];
}

/** Step 1 alone: the report and its VCEK chain (also the SEV-SNP half of an AzureGuest request). */
export function genuine(
  request: Pick<AttestSevSnpRequest, 'report' | 'vcekCertChainPem'>,
  policy: Pick<EvidencePolicy, 'trustedArks' | 'now'>,
): VerifiedEvidence {
  const [vcek, ask, ark] = certificateChain(request.vcekCertChainPem);
  const named = identifyAmdCertificate(ark);
  const product = named.product ?? identifyAmdCertificate(ask).product;
  const pinned = product === undefined ? undefined : pickTrustedArk(policy.trustedArks, product, ark);
  if (pinned === undefined && named.role === 'ark') {
    throw new MaaError(
      'InvalidQuote',
      'untrusted-root',
      `The specified quote was invalid: this attestation provider trusts no ARK for ${product}.`,
      { hint: 'start the simulator with that product’s ARK in trustedArks' },
    );
  }
  try {
    // With no pinned ARK the chain is misordered (an ASK or VCEK in the ARK slot): the core's slot
    // check, which runs before the pin is consulted, says so.
    const verified = verifyAttestation(
      { report: request.report, vcek, ask, ark },
      { now: policy.now, trustedArk: pinned ?? ark },
    );
    return { report: verified.report, product: verified.product };
  } catch (err) {
    if (err instanceof SnpVerifyError || err instanceof SnpFormatError) throw invalidQuote(err);
    if (err instanceof X509Error) {
      throw new MaaError(
        'InvalidQuote',
        'bad-certificate-chain',
        `The specified quote was invalid: ${err.message}.`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

function bound(request: AttestSevSnpRequest, report: AttestationReport): void {
  if (request.runtimeData !== undefined) {
    try {
      checkReportDataBinding(report.reportData, request.runtimeData.bytes);
    } catch (err) {
      if (!(err instanceof RuntimeDataError)) throw err;
      const kind = err.kind === 'report-data-upper-nonzero' ? err.kind : 'report-data-mismatch';
      throw invalidParameter(
        kind,
        `The SHA256 hash of the RuntimeData does not match the quote's report data: ${err.message}.`,
        err.hint ?? 'REPORT_DATA must be sha256(runtimeData bytes) followed by 32 zero bytes',
      );
    }
  }
  if (request.initTimeData !== undefined) {
    const digest = crypto.createHash('sha256').update(request.initTimeData.bytes).digest();
    if (!digest.equals(report.hostData)) {
      throw invalidParameter(
        'host-data-mismatch',
        `The SHA256 hash of the InitTimeData (${digest.toString('hex')}) does not match the quote's host data (${report.hostData.toString('hex')}).`,
        'HOST_DATA is pinned by the host at launch; send the init-time data the guest was launched with, or none',
      );
    }
  }
}

/** Verifies the request's evidence; returns the genuine report. Throws MaaError. */
export function verifyEvidence(request: AttestSevSnpRequest, policy: EvidencePolicy): VerifiedEvidence {
  const verified = genuine(request, policy);
  bound(request, verified.report);
  if (policy.refuseDebug && verified.report.policy.debug) {
    throw new MaaError(
      'PolicyEvaluationError',
      'debug-refused',
      'Policy Evaluation Error has occurred: A Deny claim was issued, authorization failed. The report has POLICY.DEBUG set (x-ms-sevsnpvm-is-debuggable is true) and this attestation provider denies debuggable guests.',
    );
  }
  return verified;
}
