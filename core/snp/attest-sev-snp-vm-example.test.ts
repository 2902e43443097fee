/**
 * The Azure REST specification's `AttestSevSnpVm` example (testdata/azure-rest-api-specs): an HCL
 * report wrapping a version 1 SNP report, and the MAA token the example says it yields. Core parses
 * version 1 with the version 2 layout, and every claim of the example's token agrees with the fields
 * read so. Its signature cannot be checked: the example carries no VCEK chain, and no published VCEK
 * signed it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import { RuntimeDataError } from '../runtime-data/errors.ts';
import { checkReportDataBinding } from '../runtime-data/report-data.ts';
import { parseRuntimeData, selectWrappingKey } from '../runtime-data/x-ms-runtime.ts';
import {
  decodeGuestPolicy,
  OFFSET,
  parseReport,
  REPORT_SIZE,
  serializeReport,
  SIZE,
  SnpFormatError,
} from './index.ts';
import { expectKind, flipBit } from '../../test/support/snp.ts';

const example = JSON.parse(readFileSync(testdata('azure-rest-api-specs', 'AttestSevSnpVm.json'), 'utf8')) as {
  parameters: { request: { reportType: string; report: string } };
  responses: { '200': { body: string } };
};

/**
 * The HCL report Hyper-V hands a confidential VM: a 32-byte header ("HCLA", version, total size,
 * request type), the SNP report, then the runtime data (20-byte header whose last field is the size
 * of the JSON that follows).
 */
const HCL_HEADER = 32;
const RUNTIME_HEADER = 20;
const hcl = Buffer.from(example.parameters.request.report, 'base64url');
const snp = hcl.subarray(HCL_HEADER, HCL_HEADER + REPORT_SIZE);
const runtimeHeader = hcl.subarray(HCL_HEADER + REPORT_SIZE, HCL_HEADER + REPORT_SIZE + RUNTIME_HEADER);
const runtimeData = hcl.subarray(HCL_HEADER + REPORT_SIZE + RUNTIME_HEADER);

/** The MAA token's claims (its signature is by a placeholder tenant, `jku` https://tenanttests.us/certs). */
const [tokenHeader, tokenClaims] = example.responses['200'].body
  .split('.')
  .slice(0, 2)
  .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>) as [
  Record<string, unknown>,
  Record<string, unknown>,
];

const hex = (b: Buffer): string => b.toString('hex');
const u64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/** The token's claims for report bytes, read by core's parser (POLICY and PLATFORM_INFO raw). */
function claimsOf(bytes: Buffer): Record<string, unknown> {
  const r = parseReport(bytes);
  return {
    authorkeydigest: hex(r.authorKeyDigest),
    familyId: hex(r.familyId),
    guestsvn: r.guestSvn,
    hostdata: hex(r.hostData),
    idkeydigest: hex(r.idKeyDigest),
    imageId: hex(r.imageId),
    launchmeasurement: hex(r.measurement),
    platforminfo: u64(bytes.readBigUInt64LE(OFFSET.PLATFORM_INFO)),
    policy: u64(bytes.readBigUInt64LE(OFFSET.POLICY)),
    reportdata: hex(r.reportData),
    reportid: hex(r.reportId),
    tcbversion: u64(r.reportedTcb),
    vmpl: r.vmpl,
  };
}

describe('AttestSevSnpVm example (Azure REST API specification)', () => {
  it('is an HCL report around a version 1 SNP report', () => {
    expect(example.parameters.request.reportType).toBe('HclHyperV');
    expect(hcl.subarray(0, 4).toString('ascii')).toBe('HCLA');
    expect(hcl.readUInt32LE(8)).toBe(hcl.length); // total size, 1745 bytes
    expect(runtimeHeader.readUInt32LE(0)).toBe(RUNTIME_HEADER + runtimeData.length);
    expect(runtimeHeader.readUInt32LE(16)).toBe(runtimeData.length);
    expect(snp.readUInt32LE(OFFSET.VERSION)).toBe(1);
  });

  it('parses as version 1 and matches every claim of the token', () => {
    expect(tokenHeader).toMatchObject({ alg: 'RS256', jku: 'https://tenanttests.us/certs' });
    expect(tokenClaims).toMatchObject({ tee: 'sevsnpvm', 'x-ms-ver': '1.0' });
    expect(tokenClaims).toMatchObject(claimsOf(snp));
    const r = parseReport(snp);
    expect(r.version).toBe(1);
    expect(r.cpuid).toBeUndefined();
    expect(r.launchMitVector).toBeUndefined();
    expect(decodeGuestPolicy(snp.readBigUInt64LE(OFFSET.POLICY))).toMatchObject({
      abiMinor: 31,
      smt: true,
      debug: true,
    });
    expect(r.signerInfo.signingKey).toBe('vcek');
    expect(r.chipId.length).toBe(SIZE.CHIP_ID);
    expect(serializeReport(r).equals(snp)).toBe(true);
  });

  it('no longer matches the token with one measurement byte flipped', () => {
    const altered = flipBit(snp, OFFSET.MEASUREMENT);
    expect(tokenClaims).not.toMatchObject(claimsOf(altered));
  });

  it('is held to the version 1 layout: no CPUID bytes, reserved bytes zero', () => {
    const withCpuid = Buffer.from(snp);
    withCpuid[OFFSET.CPUID_FAM_ID] = 0x19;
    const err = expectKind(() => parseReport(withCpuid), SnpFormatError, 'reserved-nonzero');
    expect(err.message).toContain('version 1');
    const v0 = Buffer.from(snp);
    v0.writeUInt32LE(0, OFFSET.VERSION);
    expectKind(() => parseReport(v0), SnpFormatError, 'unsupported-version');
  });

  it("carries a transfer key that is MAA's maa-ehd claim, but REPORT_DATA does not bind the runtime data", () => {
    const runtime = parseRuntimeData(runtimeData);
    const transfer = selectWrappingKey(runtime['skr-transfer-key']);
    expect(transfer.kid).toBe('HCLTransferKey');
    expect(transfer.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const ehd = JSON.parse(Buffer.from(String(tokenClaims['maa-ehd']), 'base64url').toString('utf8')) as {
      keys: { n: string }[];
    };
    expect(ehd.keys[0]?.n).toBe(transfer.jwk['n']);
    // An example assembled by hand: a real HCL report has REPORT_DATA = sha256(runtime data) ‖ zeros.
    expectKind(
      () =>
        checkReportDataBinding(
          snp.subarray(OFFSET.REPORT_DATA, OFFSET.REPORT_DATA + SIZE.REPORT_DATA),
          runtimeData,
        ),
      RuntimeDataError,
      'report-data-mismatch',
    );
  });
});
