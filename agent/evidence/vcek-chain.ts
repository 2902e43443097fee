/**
 * The VCEK chain that goes to the attestation service with the report. It must certify the report's
 * REPORTED_TCB and CHIP_ID, or MAA refuses the evidence (`tcb-mismatch`). Sources, in order:
 *   1. what came with the evidence — the PSP's chain or the host's certificate table (mode `auto`,
 *      `evidence`, `kds`; in every mode for a report a VLEK signed, whose chain only the host has);
 *   2. the UVM security context's host certificate, when mounted (no network needed; modes `auto`, `kds`);
 *   3. THIM's cached certification (mode `thim`, or `auto` when nothing else was there);
 *   4. THIM asked explicitly for the report's TCB and chip, when an earlier one was for another TCB — the
 *      state right after a firmware update, before the host's cache refreshes;
 *   5. AMD KDS for the report's chip and TCB, when configured (always in mode `kds`, else the last resort).
 */
import type { X509Certificate } from 'node:crypto';
import {
  checkReportAgainstVcek,
  decodeKdsExtensions,
  findCertTableEntry,
  identifyAmdCertificate,
  parseCertTable,
  parseReport,
  productFromCpuid,
  SnpVerifyError,
  type AttestationReport,
  type SnpProduct,
} from '../../core/snp/index.ts';
import { parsePemCertificates, toPem } from '../../core/x509/index.ts';
import type { VcekSource } from '../config.ts';
import { AgentError } from '../errors.ts';
import type { Evidence } from './attester.ts';
import { kdsChainFor, type KdsOptions } from './kds.ts';
import type { ThimCertification, ThimClient } from './thim.ts';

export type ChainOrigin =
  'evidence' | 'certificate-table' | 'uvm-security-context' | 'thim' | 'thim-for-reported-tcb' | 'kds';

export interface VcekChainResult {
  /** VCEK, ASK, ARK as PEM, in that order: what MAA's `VcekCertChain` holds. */
  pem: string;
  origin: ChainOrigin;
  /** The report's REPORTED_TCB, 16 hex digits as THIM writes it. */
  reportedTcb: string;
}

export interface ResolveChainOptions {
  mode: VcekSource;
  thim: ThimClient;
  /** THIM's answer fetched while the report was being made (mode `thim`). */
  prefetched?: Promise<ThimCertification>;
  /** The host certification from the UVM security context, when the platform mounts one. */
  uvm?: ThimCertification;
  /** AMD KDS: in mode `kds` it takes THIM's place (after the evidence's chain, the UVM context), else the last resort. */
  kds?: KdsOptions;
}

interface Candidate {
  pem: string;
  origin: ChainOrigin;
  where: string;
}

export async function resolveVcekChain(evidence: Evidence, o: ResolveChainOptions): Promise<VcekChainResult> {
  const report = parseEvidenceReport(evidence);
  const reportedTcb = report.reportedTcb.toString(16).padStart(16, '0');
  const tried: string[] = [];
  let product = productOf(report, undefined);
  const accept = (c: Candidate): VcekChainResult | undefined => {
    const check = checkCandidate(report, c);
    product ??= check.product;
    if (check.problem === undefined) return { pem: c.pem, origin: c.origin, reportedTcb };
    tried.push(`${c.where}: ${check.problem}`);
    return undefined;
  };

  // THIM and KDS's VCEK endpoint serve VCEKs only: a VLEK-signed report's chain comes with the evidence.
  const own =
    o.mode === 'thim' && report.signerInfo.signingKey !== 'vlek'
      ? undefined
      : chainFromEvidence(evidence, report);
  const fromEvidence = own && accept(own);
  if (fromEvidence) return fromEvidence;
  if (o.mode === 'evidence') {
    throw own
      ? tcbMismatch(reportedTcb, tried, evidence.source)
      : report.signerInfo.signingKey === 'vlek'
        ? new AgentError(
            'certificates-unavailable',
            'a VLEK signed the report, and the evidence carries no VLEK chain',
            {
              step: 'certificates',
              endpoint: evidence.source,
              hint: "only the host's certificate table holds a VLEK; THIM and KDS serve VCEKs",
            },
          )
        : new AgentError('certificates-unavailable', 'the evidence carries no VCEK chain', {
            step: 'certificates',
            endpoint: evidence.source,
            hint: 'the host attached no certificate table; use THIM (SECUREKEY_VCEK_SOURCE=auto or thim)',
          });
  }
  if (o.uvm && o.mode !== 'thim') {
    const fromUvm = accept({
      pem: o.uvm.vcekCert + o.uvm.certificateChain,
      origin: 'uvm-security-context',
      where: `the UVM security context (tcbm ${o.uvm.tcbm})`,
    });
    if (fromUvm) return fromUvm;
  }
  const fromThim =
    o.mode === 'kds'
      ? undefined
      : await viaThim().catch((err: unknown) => {
          // Without THIM (outside Azure) KDS can still serve, when configured; otherwise THIM's error stands.
          if (!o.kds) throw err;
          tried.push(`${o.thim.url}: ${(err as Error).message}`);
          return undefined;
        });
  if (fromThim) return fromThim;
  if (o.kds && product !== undefined) {
    const fromKds = accept({
      pem: await kdsChainFor(report, product, o.kds),
      origin: 'kds',
      where: `AMD KDS ${o.kds.url}`,
    });
    if (fromKds) return fromKds;
  }
  throw tcbMismatch(reportedTcb, tried, o.kds?.url ?? o.thim.url);

  async function viaThim(): Promise<VcekChainResult | undefined> {
    if (!own && !(o.uvm && o.mode !== 'thim')) {
      // THIM's cached certification is for the platform's current TCB, which is usually the report's.
      const cached = await (o.prefetched ?? o.thim.certification());
      const fromCache = accept({
        pem: cached.vcekCert + cached.certificateChain,
        origin: 'thim',
        where: `THIM (tcbm ${cached.tcbm})`,
      });
      if (fromCache) return fromCache;
    }
    // What we had certifies another TCB (or chip): ask THIM for exactly the report's.
    if (product === undefined) return undefined;
    const exact = await o.thim.certification({
      tcbVersion: report.reportedTcb,
      platformId: report.chipId,
      productName: product,
    });
    return accept({
      pem: exact.vcekCert + exact.certificateChain,
      origin: 'thim-for-reported-tcb',
      where: `THIM for tcbVersion ${reportedTcb} (tcbm ${exact.tcbm})`,
    });
  }
}

function parseEvidenceReport(evidence: Evidence): AttestationReport {
  try {
    return parseReport(evidence.report);
  } catch (err) {
    throw new AgentError('evidence-malformed', `the report is malformed: ${(err as Error).message}`, {
      step: 'evidence',
      endpoint: evidence.source,
      cause: err,
    });
  }
}

/**
 * The chain that came with the evidence, if it holds a VCEK, an ASK and an ARK — or, for a report a
 * VLEK signed, the VLEK (its own GUID), the ASVK (under the ASK's GUID) and the ARK.
 */
function chainFromEvidence(evidence: Evidence, report: AttestationReport): Candidate | undefined {
  if (evidence.vcekChainPem) {
    return { pem: evidence.vcekChainPem, origin: 'evidence', where: evidence.source };
  }
  if (!evidence.certTable) return undefined;
  let entries;
  try {
    entries = parseCertTable(evidence.certTable);
  } catch (err) {
    throw new AgentError(
      'evidence-malformed',
      `the certificate table is malformed: ${(err as Error).message}`,
      {
        step: 'certificates',
        endpoint: evidence.source,
        cause: err,
      },
    );
  }
  const vcek = findCertTableEntry(entries, report.signerInfo.signingKey === 'vlek' ? 'vlek' : 'vcek');
  const ask = findCertTableEntry(entries, 'ask');
  const ark = findCertTableEntry(entries, 'ark');
  if (!vcek || !ask || !ark) return undefined;
  return {
    pem: toPem(vcek) + toPem(ask) + toPem(ark),
    origin: 'certificate-table',
    where: `the certificate table from ${evidence.source}`,
  };
}

/** Why this chain cannot vouch for the report (TCB or chip), if it cannot; and the product it names. */
function checkCandidate(report: AttestationReport, c: Candidate): { problem?: string; product?: SnpProduct } {
  let certs: X509Certificate[];
  try {
    certs = parsePemCertificates(c.pem);
  } catch (err) {
    return { problem: `certificates do not parse (${(err as Error).message})` };
  }
  const [vcek, ask] = certs;
  if (certs.length !== 3 || !vcek || !ask) {
    return { problem: `expected VCEK, ASK and ARK, found ${certs.length} certificates` };
  }
  const product = productOf(report, ask);
  if (product === undefined) {
    return { problem: 'the product (Milan, Genoa, Turin) cannot be told from the report or the ASK' };
  }
  try {
    const key = report.signerInfo.signingKey === 'vlek' ? 'vlek' : 'vcek';
    checkReportAgainstVcek(report, product, decodeKdsExtensions(vcek), key);
    return { product };
  } catch (err) {
    const problem =
      err instanceof SnpVerifyError
        ? err.message
        : `the VCEK's extensions do not decode (${(err as Error).message})`;
    return { problem, product };
  }
}

/** The report's product from its CPUID (version 3+), else from the ASK's name. */
function productOf(report: AttestationReport, ask: X509Certificate | undefined): SnpProduct | undefined {
  if (report.cpuid !== undefined) {
    try {
      return productFromCpuid(report.cpuid);
    } catch {
      // fall through to the certificate
    }
  }
  return ask === undefined ? undefined : identifyAmdCertificate(ask).product;
}

function tcbMismatch(reportedTcb: string, tried: string[], endpoint: string): AgentError {
  return new AgentError(
    'tcb-mismatch',
    `no VCEK certifies the report's REPORTED_TCB ${reportedTcb}: ${tried.join('; ') || 'no chain found'}`,
    {
      step: 'certificates',
      endpoint,
      hint: 'after a firmware update the host serves a stale VCEK; THIM must answer for the reported TCB',
    },
  );
}
