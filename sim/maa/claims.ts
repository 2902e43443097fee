/**
 * The claim set of a SEV-SNP attestation token, with MAA's JSON types (as Microsoft documents the SEV-SNP claim set): Booleans for the
 * policy bits, numbers for VMPL and SVNs, lowercase hex for every byte field, and `x-ms-runtime` as the
 * parsed runtime data. MAA's tokens list every object's members in sorted order (the REST example's
 * payload and its `x-ms-runtime`), so the whole payload is sorted before it is signed (jwt.ts).
 *
 * The SVN claims come from REPORTED_TCB by default — the TCB the VCEK certifies and MAA checks; the
 * public example cannot tell CURRENT from REPORTED (both are equal there), so `tcbClaims` can switch.
 */
import crypto from 'node:crypto';
import { decomposeTcb, type AttestationReport, type SnpProduct } from '../../core/snp/index.ts';
import type { VerifiedEndorsement } from '../../core/uvm/index.ts';
import type { AttestSevSnpRequest } from './request.ts';
import { uvmEndorsementClaims } from './uvm-endorsement.ts';

export type Claims = Record<string, unknown>;

export type TcbClaimSource = 'reported' | 'current';

/** `x-ms-sevsnpvm-*` from a genuine report. */
export function sevSnpVmClaims(
  report: AttestationReport,
  product: SnpProduct,
  tcbSource: TcbClaimSource = 'reported',
): Claims {
  const tcb = decomposeTcb(tcbSource === 'current' ? report.currentTcb : report.reportedTcb, product);
  const hex = (b: Buffer): string => b.toString('hex');
  return {
    'x-ms-sevsnpvm-authorkeydigest': hex(report.authorKeyDigest),
    'x-ms-sevsnpvm-bootloader-svn': tcb.blSpl,
    'x-ms-sevsnpvm-familyId': hex(report.familyId),
    'x-ms-sevsnpvm-guestsvn': report.guestSvn,
    'x-ms-sevsnpvm-hostdata': hex(report.hostData),
    'x-ms-sevsnpvm-idkeydigest': hex(report.idKeyDigest),
    'x-ms-sevsnpvm-imageId': hex(report.imageId),
    'x-ms-sevsnpvm-is-debuggable': report.policy.debug,
    'x-ms-sevsnpvm-launchmeasurement': hex(report.measurement),
    'x-ms-sevsnpvm-microcode-svn': tcb.ucodeSpl,
    'x-ms-sevsnpvm-migration-allowed': report.policy.migrateMa,
    'x-ms-sevsnpvm-reportdata': hex(report.reportData),
    'x-ms-sevsnpvm-reportid': hex(report.reportId),
    'x-ms-sevsnpvm-smt-allowed': report.policy.smt,
    'x-ms-sevsnpvm-snpfw-svn': tcb.snpSpl,
    'x-ms-sevsnpvm-tee-svn': tcb.teeSpl,
    'x-ms-sevsnpvm-vmpl': report.vmpl,
  };
}

/** What a compliance rule or an extra-claims function sees. */
export interface ClaimContext {
  readonly report: AttestationReport;
  readonly product: SnpProduct;
  /** Lowercase hex, as in the claim. */
  readonly hostData: string;
  /** The parsed runtime data (JSON), if any. */
  readonly runtime: Record<string, unknown> | undefined;
  readonly request: AttestSevSnpRequest;
  /** The request's UVM endorsement, verified against the report; undefined when it sent none. */
  readonly uvmEndorsement: VerifiedEndorsement | undefined;
}

/**
 * The status an endorsed UVM gets: a fixed one, none (`null`: the claim is left out), or a per-request
 * decision. Consulted only for a request with a verified UVM endorsement: without one, no status.
 */
export type ComplianceRule = string | null | ((context: ClaimContext) => string | null);

export interface TokenClaimOptions {
  issuer: string;
  nowSeconds: number;
  lifetimeSeconds: number;
  policyHash: string;
  compliance: ComplianceRule;
  tcbSource: TcbClaimSource;
  /** Added last: they may add claims or replace standard ones (to simulate odd tokens). */
  extraClaims: Claims | ((context: ClaimContext) => Claims) | undefined;
}

/** The full payload of the token for a verified request. */
export function tokenClaims(context: ClaimContext, o: TokenClaimOptions): Claims {
  // The compliance status is what the verified endorsement earns: none without one (docs/adr/0045).
  const status =
    context.uvmEndorsement === undefined
      ? null
      : typeof o.compliance === 'function'
        ? o.compliance(context)
        : o.compliance;
  const { request } = context;
  const claims: Claims = {
    exp: o.nowSeconds + o.lifetimeSeconds,
    iat: o.nowSeconds,
    nbf: o.nowSeconds,
    iss: o.issuer,
    jti: crypto.randomBytes(32).toString('hex'),
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    'x-ms-attestation-type': 'sevsnpvm',
    ...(status === null ? {} : { 'x-ms-compliance-status': status }),
    ...(request.initTimeData?.json === undefined ? {} : { 'x-ms-inittime': request.initTimeData.json }),
    'x-ms-policy-hash': o.policyHash,
    ...(context.runtime === undefined ? {} : { 'x-ms-runtime': context.runtime }),
    ...sevSnpVmClaims(context.report, context.product, o.tcbSource),
    ...(context.uvmEndorsement === undefined ? {} : uvmEndorsementClaims(context.uvmEndorsement)),
    'x-ms-ver': '1.0',
  };
  const extra = typeof o.extraClaims === 'function' ? o.extraClaims(context) : o.extraClaims;
  return { ...claims, ...extra };
}
