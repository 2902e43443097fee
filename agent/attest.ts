/**
 * Evidence → attestation token: one call to Azure Attestation's SEV-SNP endpoint (edge/azure
 * attestSevSnp, the SKR sidecar's request), retried on throttling, outages and network failures,
 * never on a refusal of the evidence itself. A Retry-After is obeyed (withRetry); one that ends past the
 * run's deadline stops the run at once, saying when to try again.
 */
import { isErrorOf } from '../core/errors.ts';
import { AttestationRequestError, attestSevSnp } from '../edge/azure/attestation-client.ts';
import { HttpError } from '../edge/http/client.ts';
import { AgentError } from './errors.ts';
import { transientHttpError, withRetry } from './retry.ts';
import type { Timeline } from './timeline.ts';
import { unverifiedJwtPayload } from '../core/jwt-payload.ts';

export interface AttestInput {
  attestationUrl: string;
  report: Buffer;
  vcekChainPem: string;
  runtimeData: Buffer;
  /** The UVM reference info (COSE_Sign1), sent as the UVM endorsement when there is one. */
  uvmReferenceInfo?: Buffer;
  caPem?: string;
  deadline: number;
  /** How to wait between attempts (tests record the delays). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The same evidence exchanged at each authority the keys name, concurrently; one call per authority.
 * With several, each exchange is timed as `attestation:<host>`.
 */
export async function attestEach(
  authorities: readonly string[],
  input: Omit<AttestInput, 'attestationUrl'>,
  timeline: Timeline,
): Promise<Map<string, string>> {
  const exchanges = authorities.map(async (attestationUrl) => {
    const exchange = () => attest({ ...input, attestationUrl });
    const token =
      authorities.length === 1
        ? await exchange()
        : await timeline.time(`attestation:${new URL(attestationUrl).host}`, exchange);
    return [attestationUrl, token] as const;
  });
  return new Map(await Promise.all(exchanges));
}

export async function attest(input: AttestInput): Promise<string> {
  const endpoint = `${input.attestationUrl}/attest/SevSnpVm`;
  try {
    return await withRetry(
      () =>
        attestSevSnp({
          attestationUrl: input.attestationUrl,
          report: input.report,
          vcekChainPem: input.vcekChainPem,
          runtimeData: input.runtimeData,
          ...(input.uvmReferenceInfo === undefined ? {} : { uvmReferenceInfo: input.uvmReferenceInfo }),
          ...(input.caPem === undefined ? {} : { caPem: input.caPem }),
          timeoutMs: Math.max(1_000, Math.min(30_000, input.deadline - Date.now())),
        }),
      {
        attempts: 5,
        baseDelayMs: 250,
        maxDelayMs: 4_000,
        deadline: input.deadline,
        retryable: transientHttpError,
        ...(input.sleep === undefined ? {} : { sleep: input.sleep }),
      },
    );
  } catch (err) {
    if (isErrorOf(err, HttpError, 'retry-after-deadline')) {
      throw new AgentError('deadline-exceeded', `Azure Attestation: ${err.message}`, {
        step: 'attestation',
        endpoint,
        cause: err,
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      });
    }
    if (err instanceof HttpError) {
      throw new AgentError('attestation-unavailable', `Azure Attestation did not attest: ${err.message}`, {
        step: 'attestation',
        endpoint,
        cause: err,
      });
    }
    if (!(err instanceof AttestationRequestError)) throw err;
    throw new AgentError('attestation-refused', `Azure Attestation refused the evidence: ${err.message}`, {
      step: 'attestation',
      endpoint,
      cause: err,
      hint: hintFor(err.code),
    });
  }
}

/** The claim every release policy the operator builds requires (core/policy), from the UVM endorsement. */
const COMPLIANCE_STATUS = 'x-ms-compliance-status';

export interface EndorsementOutcome {
  /** Where the reference info sent came from; undefined when none was found. */
  sentFrom: string | undefined;
  /** Every place looked for it. */
  searched: readonly string[];
}

/**
 * Every SecureKey's release policy requires `x-ms-compliance-status`, and Azure Attestation issues it
 * only for a UVM it finds endorsed (docs/adr/0045). A token without it would be refused by the vault with
 * a bare 403; this says why, before the release is tried.
 */
export function requireComplianceStatus(tokens: ReadonlyMap<string, string>, uvm: EndorsementOutcome): void {
  for (const [authority, token] of tokens) {
    const claims = unverifiedJwtPayload(token);
    if (claims === undefined || typeof claims[COMPLIANCE_STATUS] === 'string') continue;
    const endpoint = `${authority}/attest/SevSnpVm`;
    if (uvm.sentFrom === undefined) {
      throw new AgentError(
        'uvm-not-endorsed',
        `no UVM reference info was found (looked for ${uvm.searched.join(', ')}), so Azure Attestation's token has no ${COMPLIANCE_STATUS}, which the key's release policy requires; the vault would refuse the release`,
        {
          step: 'attestation',
          endpoint,
          hint: 'on AKS confidential containers mount the host’s /opt/confidential-containers/share/kata-containers/reference-info-base64 into the pod; on Confidential ACI set UVM_SECURITY_CONTEXT_DIR to the security-context directory',
        },
      );
    }
    throw new AgentError(
      'uvm-not-endorsed',
      `Azure Attestation did not accept the UVM reference info from ${uvm.sentFrom} as an endorsement of this guest: its token has no ${COMPLIANCE_STATUS}, which the key's release policy requires`,
      {
        step: 'attestation',
        endpoint,
        hint: 'the reference info must be the one the platform placed for this UVM image (its launch measurement equals the report’s)',
      },
    );
  }
}

/** The token's payload, unverified (the vault judges the token); undefined when it is not a readable JWT. */
function hintFor(code: string | undefined): string {
  if (code === 'InvalidQuote') {
    return 'the report or its VCEK chain is not genuine to this attestation service (wrong platform root, altered report, or a VCEK for another TCB)';
  }
  if (code === 'PolicyEvaluationError')
    return "the attestation instance's policy refused this guest (debug enabled?)";
  return 'the request did not match what the attestation service expects';
}
