import { describe, expect, it } from 'vitest';
import {
  composeTcb,
  parseReport,
  PRODUCT_CPUID,
  validateReport,
  verifyAttestation,
  SnpValidationError,
} from '../../core/snp/index.ts';
import { expectKind } from '../../test/support/snp.ts';
import { AmdSimError, FakeAmd, ReportSigner } from './index.ts';

const amd = new FakeAmd();
const reportData = Buffer.alloc(64, 0xab);
const hostData = Buffer.alloc(32, 0xcd);
const now = new Date();

describe('ReportSigner', () => {
  it('writes the request’s REPORT_DATA and VMPL and the launch’s fields', () => {
    const measurement = Buffer.alloc(48, 0x11);
    const signer = new ReportSigner(
      amd,
      {
        hostData,
        measurement,
        guestSvn: 2,
        policy: { debug: true, migrateMa: true },
        familyId: Buffer.alloc(16, 1),
      },
      { platformInfo: { tsmeEnabled: true } },
    );
    const r = parseReport(signer.sign({ reportData, vmpl: 2 }));
    expect(r.version).toBe(3);
    expect(r.reportData).toEqual(reportData);
    expect(r.vmpl).toBe(2);
    expect(r.hostData).toEqual(hostData);
    expect(r.measurement).toEqual(measurement);
    expect(r.guestSvn).toBe(2);
    expect(r.familyId).toEqual(Buffer.alloc(16, 1));
    expect(r.policy).toMatchObject({ debug: true, migrateMa: true, smt: true, abiMinor: 31 });
    expect(r.platformInfo).toMatchObject({ smtEnabled: true, tsmeEnabled: true });
    expect(r.cpuid).toEqual(PRODUCT_CPUID.Milan);
    expect(r.reportIdMa).toEqual(Buffer.alloc(32, 0xff));
    expect(r.chipId).toEqual(amd.chipId);
    expect([r.currentTcb, r.committedTcb, r.launchTcb, r.reportedTcb]).toEqual([
      amd.tcb,
      amd.tcb,
      amd.tcb,
      amd.tcb,
    ]);
  });

  it('keeps one REPORT_ID per launch and a fresh one per launch', () => {
    const a = new ReportSigner(amd);
    const b = new ReportSigner(amd);
    const id = (s: ReportSigner) => parseReport(s.sign({ reportData })).reportId.toString('hex');
    expect(id(a)).toBe(id(a));
    expect(id(a)).not.toBe(id(b));
  });

  it('debug and migration-agent policies verify as genuine and are refused by validation', () => {
    const report = new ReportSigner(amd, { hostData, policy: { debug: true } }).sign({ reportData });
    const { report: parsed } = verifyAttestation({ report, ...amd.chain() }, { now, trustedArk: amd.ark });
    expectKind(() => validateReport(parsed, 'Milan'), SnpValidationError, 'debug-enabled');
    const ma = new ReportSigner(amd, { policy: { migrateMa: true } }).report({ reportData });
    expectKind(() => validateReport(ma, 'Milan'), SnpValidationError, 'migration-agent-enabled');
  });

  it('a default launch passes validation against its HOST_DATA and REPORT_DATA', () => {
    const report = new ReportSigner(amd, { hostData }).report({ reportData });
    expect(() => validateReport(report, 'Milan', { hostData, reportData, vmpl: 0 })).not.toThrow();
  });

  it('takes the policy as a raw u64 too', () => {
    expect(new ReportSigner(amd, { policy: 0xa0000n }).report({ reportData }).policy).toMatchObject({
      debug: true,
      smt: false,
      abiMinor: 0,
    });
  });

  it('HOST_DATA is pinned at launch: nothing in a request or a returned copy changes it', () => {
    const signer = new ReportSigner(amd, { hostData });
    signer.hostData.fill(0);
    const sneaky = { reportData, hostData: Buffer.alloc(32, 0xee) } as unknown as { reportData: Buffer };
    expect(parseReport(signer.sign(sneaky)).hostData).toEqual(hostData);
  });

  it('separate TCBs, firmware versions and version-5 mitigation vectors', () => {
    const older = composeTcb({ blSpl: 2, teeSpl: 0, snpSpl: 7, ucodeSpl: 100 }, 'Milan');
    const r = parseReport(
      new ReportSigner(
        amd,
        {},
        {
          version: 5,
          launchTcb: older,
          committedTcb: older,
          currentVersion: { major: 1, minor: 58, build: 9 },
          launchMitVector: 3n,
          currentMitVector: 7n,
        },
      ).sign({ reportData }),
    );
    expect(r.launchTcb).toBe(older);
    expect(r.committedTcb).toBe(older);
    expect(r.currentTcb).toBe(amd.tcb);
    expect(r.currentVersion).toEqual({ major: 1, minor: 58, build: 9 });
    expect([r.launchMitVector, r.currentMitVector]).toEqual([3n, 7n]);
  });

  it('version 2 has no CPUID', () => {
    expect(parseReport(new ReportSigner(amd, {}, { version: 2 }).sign({ reportData })).cpuid).toBeUndefined();
  });

  it('refuses REPORT_DATA that is not 64 bytes and VMPLs the guest may not ask for', () => {
    const signer = new ReportSigner(amd, { guestVmpl: 1 });
    expectKind(() => signer.sign({ reportData: Buffer.alloc(32) }), AmdSimError, 'bad-report-data');
    expectKind(() => signer.sign({ reportData, vmpl: 4 }), AmdSimError, 'bad-vmpl');
    expectKind(() => signer.sign({ reportData, vmpl: 0 }), AmdSimError, 'bad-vmpl');
    expect(parseReport(signer.sign({ reportData })).vmpl).toBe(1);
  });

  it('refuses bad launch options at launch', () => {
    expectKind(() => new ReportSigner(amd, { hostData: Buffer.alloc(31) }), AmdSimError, 'bad-option');
    expectKind(() => new ReportSigner(amd, {}, { version: 6 as 2 }), AmdSimError, 'bad-option');
    expectKind(() => new FakeAmd({ chipId: Buffer.alloc(63) }), AmdSimError, 'bad-option');
  });
});
