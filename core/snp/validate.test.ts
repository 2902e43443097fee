import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import {
  composeTcb,
  parseReport,
  SnpFormatError,
  SnpValidationError,
  validateReport,
  type AttestationReport,
} from './index.ts';
import { expectKind, realReport } from '../../test/support/snp.ts';

const report = parseReport(realReport);
const policyDigest = createHash('sha256')
  .update(Buffer.from(readFileSync(testdata('snp-real/policy.base64'), 'utf8').trim(), 'base64'))
  .digest();

describe('validateReport on the real Milan report', () => {
  it('accepts the report under a policy it meets', () => {
    expect(() =>
      validateReport(report, 'Milan', {
        vmpl: 0,
        minimumTcb: { blSpl: 3, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 },
        hostData: policyDigest,
        reportData: report.reportData.subarray(0, 32),
        measurements: [Buffer.alloc(48), report.measurement],
      }),
    ).not.toThrow();
    expect(() => validateReport(report, 'Milan')).not.toThrow();
  });

  it('rejects a debuggable guest unless allowed', () => {
    const debug: AttestationReport = { ...report, policy: { ...report.policy, debug: true } };
    expectKind(() => validateReport(debug, 'Milan'), SnpValidationError, 'debug-enabled');
    expect(() => validateReport(debug, 'Milan', { allowDebug: true })).not.toThrow();
  });

  it('rejects a guest that allows a migration agent unless allowed', () => {
    const ma: AttestationReport = { ...report, policy: { ...report.policy, migrateMa: true } };
    expectKind(() => validateReport(ma, 'Milan'), SnpValidationError, 'migration-agent-enabled');
    expect(() => validateReport(ma, 'Milan', { allowMigrationAgent: true })).not.toThrow();
  });

  it('checks the VMPL', () => {
    expectKind(() => validateReport(report, 'Milan', { vmpl: 1 }), SnpValidationError, 'vmpl-mismatch');
    expectKind(
      () => validateReport({ ...report, vmpl: 2 }, 'Milan', { vmpl: 0 }),
      SnpValidationError,
      'vmpl-mismatch',
    );
  });

  it.each([
    ['ucodeSpl', 116],
    ['snpSpl', 9],
    ['blSpl', 4],
    ['teeSpl', 1],
  ] as const)('rejects a TCB below the minimum %s %s', (component, min) => {
    const err = expectKind(
      () => validateReport(report, 'Milan', { minimumTcb: { [component]: min } }),
      SnpValidationError,
      'tcb-below-minimum',
    );
    expect(err.message).toContain(component);
  });

  it('applies the minimum to COMMITTED_TCB too, and FMC only on Turin', () => {
    const lowCommitted = {
      ...report,
      committedTcb: composeTcb({ blSpl: 3, teeSpl: 0, snpSpl: 7, ucodeSpl: 115 }, 'Milan'),
    };
    const err = expectKind(
      () => validateReport(lowCommitted, 'Milan', { minimumTcb: { snpSpl: 8 } }),
      SnpValidationError,
      'tcb-below-minimum',
    );
    expect(err.message).toContain('COMMITTED_TCB');
    expect(() => validateReport(report, 'Milan', { minimumTcb: { fmcSpl: 5 } })).not.toThrow();
    // Read as Turin, byte 0 (3) is FMC.
    expectKind(
      () => validateReport(report, 'Turin', { minimumTcb: { fmcSpl: 4 } }),
      SnpValidationError,
      'tcb-below-minimum',
    );
  });

  it('compares HOST_DATA with the expected policy digest', () => {
    const other = createHash('sha256').update('another policy').digest();
    expectKind(
      () => validateReport(report, 'Milan', { hostData: other }),
      SnpValidationError,
      'host-data-mismatch',
    );
    expectKind(
      () => validateReport(report, 'Milan', { hostData: policyDigest.subarray(0, 31) }),
      SnpFormatError,
      'bad-field',
    );
  });

  it('compares REPORT_DATA, zero-padding shorter expectations', () => {
    expect(() => validateReport(report, 'Milan', { reportData: report.reportData })).not.toThrow();
    const flipped = Buffer.from(report.reportData.subarray(0, 32));
    flipped[31]! ^= 1;
    expectKind(
      () => validateReport(report, 'Milan', { reportData: flipped }),
      SnpValidationError,
      'report-data-mismatch',
    );
    expectKind(
      () => validateReport(report, 'Milan', { reportData: report.reportData.subarray(0, 31) }),
      SnpValidationError,
      'report-data-mismatch',
    );
    expectKind(
      () => validateReport(report, 'Milan', { reportData: Buffer.alloc(65) }),
      SnpFormatError,
      'bad-field',
    );
  });

  it('checks MEASUREMENT against an allow-list', () => {
    expectKind(
      () => validateReport(report, 'Milan', { measurements: [] }),
      SnpValidationError,
      'measurement-not-allowed',
    );
    expectKind(
      () => validateReport(report, 'Milan', { measurements: [Buffer.alloc(48, 1)] }),
      SnpValidationError,
      'measurement-not-allowed',
    );
  });
});
