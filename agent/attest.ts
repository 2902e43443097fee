/**
 * Evidence → attestation token: one call to Azure Attestation's SEV-SNP endpoint (edge/azure
 * attestSevSnp, the SKR sidecar's request), retried on throttling, outages and network failures,
 * never on a refusal of the evidence itself.
 */
import { AttestationRequestError, attestSevSnp } from '../edge/azure/attestation-client.ts';
import { AgentError } from './errors.ts';
import { withRetry } from './retry.ts';
import type { Timeline } from './timeline.ts';

export interface AttestInput {
  attestationUrl: string;
  report: Buffer;
  vcekChainPem: string;
  runtimeData: Buffer;
  caPem?: string;
  deadline: number;
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
          ...(input.caPem === undefined ? {} : { caPem: input.caPem }),
          timeoutMs: Math.max(1_000, Math.min(30_000, input.deadline - Date.now())),
        }),
      { attempts: 5, baseDelayMs: 250, maxDelayMs: 4_000, deadline: input.deadline, retryable: transient },
    );
  } catch (err) {
    if (!(err instanceof AttestationRequestError)) throw err;
    if (transient(err)) {
      throw new AgentError('attestation-unavailable', `Azure Attestation did not attest: ${err.message}`, {
        step: 'attestation',
        endpoint,
        cause: err,
      });
    }
    throw new AgentError('attestation-refused', `Azure Attestation refused the evidence: ${err.message}`, {
      step: 'attestation',
      endpoint,
      cause: err,
      hint: hintFor(err.code),
    });
  }
}

function transient(err: unknown): boolean {
  if (!(err instanceof AttestationRequestError)) return false;
  return err.status === undefined || err.status === 0 || err.status === 429 || err.status >= 500;
}

function hintFor(code: string | undefined): string {
  if (code === 'InvalidQuote') {
    return 'the report or its VCEK chain is not genuine to this attestation service (wrong platform root, altered report, or a VCEK for another TCB)';
  }
  if (code === 'PolicyEvaluationError')
    return "the attestation instance's policy refused this guest (debug enabled?)";
  return 'the request did not match what the attestation service expects';
}
