/**
 * The SKR convention for binding runtime data into the SNP report: REPORT_DATA (64 bytes) is
 * sha256(runtime data bytes) followed by 32 zero bytes.
 */
import crypto from 'node:crypto';
import { RuntimeDataError } from './errors.ts';

export const REPORT_DATA_LENGTH = 64;
const DIGEST_LENGTH = 32;

/** REPORT_DATA for `runtimeData`: sha256 ‖ 32 zero bytes. */
export function reportDataFor(runtimeData: Uint8Array): Buffer {
  const reportData = Buffer.alloc(REPORT_DATA_LENGTH);
  crypto.createHash('sha256').update(runtimeData).digest().copy(reportData, 0);
  return reportData;
}

/** Checks that `reportData` binds `runtimeData`; throws a RuntimeDataError naming what differs. */
export function checkReportDataBinding(reportData: Uint8Array, runtimeData: Uint8Array): void {
  if (reportData.length !== REPORT_DATA_LENGTH) {
    throw new RuntimeDataError(
      'bad-report-data-length',
      `REPORT_DATA must be ${REPORT_DATA_LENGTH} bytes, got ${reportData.length}`,
    );
  }
  const expected = crypto.createHash('sha256').update(runtimeData).digest();
  const actual = Buffer.from(reportData.subarray(0, DIGEST_LENGTH));
  if (!actual.equals(expected)) {
    throw new RuntimeDataError(
      'report-data-mismatch',
      `REPORT_DATA[0:32] is ${actual.toString('hex')}, but sha256(runtime data) is ${expected.toString('hex')}`,
      { hint: 'the report was requested for other runtime data, or the runtime data was re-serialised' },
    );
  }
  const upper = reportData.subarray(DIGEST_LENGTH);
  const offset = upper.findIndex((b) => b !== 0);
  if (offset !== -1) {
    throw new RuntimeDataError(
      'report-data-upper-nonzero',
      `REPORT_DATA byte ${DIGEST_LENGTH + offset} is not zero; bytes 32 to 63 must be zero`,
    );
  }
}
