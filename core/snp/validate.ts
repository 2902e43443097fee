/**
 * Is a genuine report acceptable? Policy appraisal over a report that verify.ts has already found
 * genuine: debug and migration-agent bits, VMPL, minimum TCB per component, and the expected
 * HOST_DATA, REPORT_DATA and MEASUREMENT values. The first failed check is thrown.
 */
import crypto from 'node:crypto';
import { SnpFormatError, SnpValidationError } from './errors.ts';
import { SIZE } from './layout.ts';
import type { AttestationReport } from './report.ts';
import { decomposeTcb, type SnpProduct } from './tcb.ts';

export type TcbComponent = 'blSpl' | 'teeSpl' | 'snpSpl' | 'ucodeSpl' | 'fmcSpl';

export interface ValidationOptions {
  /** Accept POLICY.DEBUG = 1. Default false: a debuggable guest's memory is readable by the host. */
  readonly allowDebug?: boolean;
  /** Accept POLICY.MIGRATE_MA = 1. Default false. */
  readonly allowMigrationAgent?: boolean;
  /** The VMPL the report must have been requested at (Azure and Trustee expect 0). */
  readonly vmpl?: number;
  /**
   * Lowest acceptable SPL per component, applied to REPORTED_TCB, CURRENT_TCB and COMMITTED_TCB
   * (`fmcSpl` counts on Turin only).
   */
  readonly minimumTcb?: Partial<Record<TcbComponent, number>>;
  /** HOST_DATA must equal these 32 bytes (the policy digest). */
  readonly hostData?: Uint8Array;
  /** REPORT_DATA must equal these bytes, zero-padded to 64 (SKR binds SHA-256 ‖ 32 zero bytes). */
  readonly reportData?: Uint8Array;
  /** MEASUREMENT must be one of these 48-byte launch digests. */
  readonly measurements?: readonly Uint8Array[];
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && crypto.timingSafeEqual(a, b);

export function validateReport(
  report: AttestationReport,
  product: SnpProduct,
  options: ValidationOptions = {},
): void {
  if (report.policy.debug && !options.allowDebug) {
    throw new SnpValidationError(
      'debug-enabled',
      'POLICY allows debugging (bit 19); the host can read guest memory',
      {
        hint: 'launch the guest without the debug policy bit, or set allowDebug for test environments',
      },
    );
  }
  if (report.policy.migrateMa && !options.allowMigrationAgent) {
    throw new SnpValidationError('migration-agent-enabled', 'POLICY allows a migration agent (bit 18)');
  }
  if (options.vmpl !== undefined && report.vmpl !== options.vmpl) {
    throw new SnpValidationError('vmpl-mismatch', `report VMPL is ${report.vmpl}, expected ${options.vmpl}`);
  }
  if (options.minimumTcb) {
    const min = options.minimumTcb;
    for (const [field, raw] of [
      ['REPORTED_TCB', report.reportedTcb],
      ['CURRENT_TCB', report.currentTcb],
      ['COMMITTED_TCB', report.committedTcb],
    ] as const) {
      const parts = decomposeTcb(raw, product);
      for (const component of ['blSpl', 'teeSpl', 'snpSpl', 'ucodeSpl', 'fmcSpl'] as const) {
        const want = min[component];
        const have = parts[component];
        if (want === undefined || have === undefined) continue;
        if (have < want) {
          throw new SnpValidationError(
            'tcb-below-minimum',
            `${field} ${component} is ${have}, the minimum is ${want}`,
            {
              hint: 'the host firmware or microcode needs an update',
            },
          );
        }
      }
    }
  }
  if (options.hostData !== undefined) {
    if (options.hostData.length !== SIZE.HOST_DATA) {
      throw new SnpFormatError(
        'bad-field',
        `expected HOST_DATA must be 32 bytes, got ${options.hostData.length}`,
      );
    }
    if (!equal(report.hostData, options.hostData)) {
      throw new SnpValidationError(
        'host-data-mismatch',
        `HOST_DATA ${report.hostData.toString('hex')} is not the expected ${Buffer.from(options.hostData).toString('hex')}`,
        { hint: 'the pod runs under a different policy than the one the key is released for' },
      );
    }
  }
  if (options.reportData !== undefined) {
    if (options.reportData.length > SIZE.REPORT_DATA) {
      throw new SnpFormatError(
        'bad-field',
        `expected REPORT_DATA is ${options.reportData.length} bytes, at most 64`,
      );
    }
    const want = Buffer.alloc(SIZE.REPORT_DATA);
    want.set(options.reportData);
    if (!equal(report.reportData, want)) {
      throw new SnpValidationError('report-data-mismatch', 'REPORT_DATA does not bind the expected data', {
        hint: 'the report was requested for other runtime data (key, nonce)',
      });
    }
  }
  if (options.measurements !== undefined && !options.measurements.some((m) => equal(report.measurement, m))) {
    throw new SnpValidationError(
      'measurement-not-allowed',
      `MEASUREMENT ${report.measurement.toString('hex')} is not in the allow-list`,
    );
  }
}
