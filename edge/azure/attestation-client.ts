/**
 * Client of Microsoft Azure Attestation's SEV-SNP endpoint, sending what the Microsoft SKR sidecar
 * sends (microsoft/confidential-sidecar-containers, `pkg/attest`): the report and VCEK chain as base64url JSON, the runtime data (the agent's
 * JWKS) as `dataType: JSON`, and a random 64-bit nonce. Returns the attestation token (a JWT).
 * With the UVM reference info, the evidence carries it as the sidecar does:
 * `Endorsements = base64url({"Uvm": [base64url(COSE_Sign1)]})` (docs/adr/0045).
 */
import crypto from 'node:crypto';
import type https from 'node:https';
import { errorBody, httpRequest, jsonBody, unavailable } from '../http/client.ts';

export interface AttestOptions {
  /** `https://<instance>.attest.azure.net` (or a simulator). */
  attestationUrl: string;
  report: Uint8Array;
  /** PEM VCEK then ASK then ARK. */
  vcekChainPem: string;
  /** The exact runtime-data bytes whose sha256 is REPORT_DATA[0:32]. */
  runtimeData: Uint8Array;
  /** The UVM reference info (COSE_Sign1 bytes), sent as the UVM endorsement. */
  uvmReferenceInfo?: Uint8Array;
  /** CA to trust instead of the system roots (simulators). */
  caPem?: string;
  agent?: https.Agent;
  apiVersion?: string;
  timeoutMs?: number;
}

/**
 * The service answered but gave no token (it refused the evidence, or its answer is not one), with its
 * own code and message when it sent one. No answer at all (network, timeout) and throttling or an
 * outage (429, 5xx) are HttpErrors instead: `unavailable` carries the service's Retry-After as `retryAt`.
 */
export class AttestationRequestError extends Error {
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.name = 'AttestationRequestError';
    this.status = status;
    this.code = code;
  }
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');
/** Go's `base64.URLEncoding` (padded), as the sidecar encodes the endorsements. */
const goB64url = (b: Uint8Array | string) => {
  const raw = b64url(b);
  return raw + '='.repeat((4 - (raw.length % 4)) % 4);
};

/** The request body, byte-compatible in shape with the sidecar's (`nonce` is a JSON number). */
export function attestRequestBody(
  o: Pick<AttestOptions, 'report' | 'vcekChainPem' | 'runtimeData' | 'uvmReferenceInfo'>,
): string {
  const evidence = JSON.stringify({
    SnpReport: b64url(o.report),
    VcekCertChain: b64url(o.vcekChainPem),
    // Left out without reference info, as the sidecar's omitempty does.
    ...(o.uvmReferenceInfo === undefined
      ? {}
      : { Endorsements: goB64url(JSON.stringify({ Uvm: [goB64url(o.uvmReferenceInfo)] })) }),
  });
  const nonce = crypto.randomBytes(8).readBigUInt64BE().toString();
  const json = JSON.stringify({
    report: b64url(evidence),
    runtimeData: { data: b64url(o.runtimeData), dataType: 'JSON' },
    initTimeData: { data: '', dataType: '' },
    nonce: 0,
  });
  // JSON.stringify cannot write a u64 number; splice the decimal digits in as the sidecar's Go does.
  return json.replace(/"nonce":0}$/, `"nonce":${nonce}}`);
}

/** The token; rejects with an AttestationRequestError when refused, an HttpError when not answered (see above). */
export async function attestSevSnp(o: AttestOptions): Promise<string> {
  const url = new URL(`/attest/SevSnpVm?api-version=${o.apiVersion ?? '2022-08-01'}`, o.attestationUrl);
  const body = attestRequestBody(o);
  const res = await httpRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    timeoutMs: o.timeoutMs ?? 30_000,
    ...(o.agent === undefined ? { caPem: o.caPem } : { agent: o.agent }),
    // A token is a few KiB: httpRequest's default cap (1 MiB) refuses a runaway answer.
  });
  const token = (jsonBody(res) as { token?: unknown } | undefined)?.token;
  if (res.status !== 200 || typeof token !== 'string' || token === '') {
    const e = errorBody(res.text);
    const message = `attestation at ${url.origin} answered ${res.status}${e.code ? ` ${e.code}` : ''}: ${e.message ?? 'no token in the response'}`;
    // Throttled or down: worth another try, when the service says (Retry-After) or after a backoff.
    if (res.status === 429 || res.status >= 500) throw unavailable(message, url, res);
    throw new AttestationRequestError(message, res.status, e.code);
  }
  return token;
}
