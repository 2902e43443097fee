/**
 * The body a pod sends: `{"reportData": "<128 hex digits>", "vmpl": 0}` and nothing else. HOST_DATA
 * is the host's to set, so a body that names it in any spelling is refused outright rather than
 * ignored: a client that believes it can choose HOST_DATA has a bug worth hearing about.
 */
import { PspError } from './errors.ts';

export interface ReportRequestBody {
  readonly reportData: Buffer;
  readonly vmpl: number | undefined;
}

const HOST_DATA_FIELD = /^host[-_]?data$/i;
const HEX_64_BYTES = /^[0-9a-fA-F]{128}$/;

export function parseReportRequest(body: unknown): ReportRequestBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PspError('bad-request', 'the body must be a JSON object {"reportData": "<128 hex digits>"}');
  }
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (HOST_DATA_FIELD.test(name)) {
      throw new PspError(
        'host-data-not-allowed',
        `field ${name}: HOST_DATA is set by the host from the pod's policy annotation, not by the pod`,
      );
    }
    if (name !== 'reportData' && name !== 'vmpl') throw new PspError('bad-request', `unknown field ${name}`);
  }
  const reportData = fields['reportData'];
  if (typeof reportData !== 'string' || !HEX_64_BYTES.test(reportData)) {
    throw new PspError('bad-request', 'reportData must be 64 bytes as 128 hex digits');
  }
  const vmpl = fields['vmpl'];
  if (vmpl !== undefined && !(typeof vmpl === 'number' && Number.isInteger(vmpl) && vmpl >= 0 && vmpl <= 3)) {
    throw new PspError('bad-request', 'vmpl must be an integer 0–3');
  }
  return { reportData: Buffer.from(reportData, 'hex'), vmpl: vmpl as number | undefined };
}
