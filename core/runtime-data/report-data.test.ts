import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RuntimeDataError } from './errors.ts';
import type { RuntimeDataErrorKind } from './errors.ts';
import {
  ACI_RUNTIME_DATA_B64,
  MAA_REPORT_DATA_CLAIM,
  MAA_RUNTIME_DATA_B64,
} from '../../test/support/microsoft-vectors.ts';
import { checkReportDataBinding, reportDataFor } from './report-data.ts';

function expectKind(fn: () => unknown, kind: RuntimeDataErrorKind): RuntimeDataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeDataError);
    expect((err as RuntimeDataError).kind).toBe(kind);
    return err as RuntimeDataError;
  }
  throw new Error(`expected a RuntimeDataError of kind ${kind}`);
}

const maaRuntimeData = Buffer.from(MAA_RUNTIME_DATA_B64, 'base64');
const maaReportData = Buffer.from(MAA_REPORT_DATA_CLAIM, 'hex');

describe('reportDataFor', () => {
  it('matches the report data MAA saw for the REST example’s runtime data', () => {
    expect(reportDataFor(maaRuntimeData).toString('hex')).toBe(MAA_REPORT_DATA_CLAIM);
  });

  it('is sha256 followed by 32 zero bytes', () => {
    const data = crypto.randomBytes(100);
    const rd = reportDataFor(data);
    expect(rd.length).toBe(64);
    expect(rd.subarray(0, 32).equals(crypto.createHash('sha256').update(data).digest())).toBe(true);
    expect(rd.subarray(32).equals(Buffer.alloc(32))).toBe(true);
  });
});

describe('checkReportDataBinding', () => {
  it('accepts the REST example’s claim for its runtime data', () => {
    expect(() => checkReportDataBinding(maaReportData, maaRuntimeData)).not.toThrow();
  });

  it('other runtime data → report-data-mismatch', () => {
    const aci = Buffer.from(ACI_RUNTIME_DATA_B64, 'base64');
    expectKind(() => checkReportDataBinding(maaReportData, aci), 'report-data-mismatch');
    // Re-serialising the same JSON changes the bytes, and so the binding.
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(maaRuntimeData.toString()), null, 1));
    expectKind(() => checkReportDataBinding(maaReportData, reserialised), 'report-data-mismatch');
  });

  it('a flipped hash bit → report-data-mismatch; a non-zero upper byte → report-data-upper-nonzero', () => {
    const flipped = Buffer.from(maaReportData);
    flipped[31] = (flipped[31] ?? 0) ^ 1;
    expectKind(() => checkReportDataBinding(flipped, maaRuntimeData), 'report-data-mismatch');
    for (const offset of [32, 50, 63]) {
      const upper = Buffer.from(maaReportData);
      upper[offset] = 1;
      const err = expectKind(
        () => checkReportDataBinding(upper, maaRuntimeData),
        'report-data-upper-nonzero',
      );
      expect(err.message).toContain(`byte ${offset}`);
    }
  });

  it('REPORT_DATA that is not 64 bytes → bad-report-data-length', () => {
    expectKind(
      () => checkReportDataBinding(maaReportData.subarray(0, 32), maaRuntimeData),
      'bad-report-data-length',
    );
  });
});
