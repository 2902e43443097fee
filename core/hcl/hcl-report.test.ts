/** core/hcl against a real HCL report (an Azure CVM's, published by az-cvm-vtpm) and mutations of it. */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import { expectKind } from '../../test/support/snp.ts';
import { OFFSET } from '../snp/index.ts';
import {
  buildHclReport,
  hclAkPub,
  hclReportData,
  hclUserData,
  HclReportError,
  parseHclReport,
  REQUEST_DATA_OFFSET,
  VARIABLE_DATA_OFFSET,
} from './index.ts';

const real = readFileSync(testdata('azure-cvm/hcl-report-snp.bin'));
const mutate = (at: number, value: number) => {
  const b = Buffer.from(real);
  b.writeUInt32LE(value, at);
  return b;
};
/** A report with `variableData` whose SNP report binds it (REPORT_DATA rewritten; the signature is not checked here). */
function rebound(variableData: Buffer): Buffer {
  const snp = Buffer.from(real.subarray(0x20, 0x20 + 0x4a0));
  hclReportData(variableData).copy(snp, OFFSET.REPORT_DATA);
  return buildHclReport({ snpReport: snp, variableData, padTo: 2048 });
}

describe('parseHclReport', () => {
  it('accepts a real report: header, SNP report, binding, runtime claims with HCLAkPub', () => {
    const r = parseHclReport(real);
    expect(r.header).toEqual({ version: 1, reportSize: 1819, requestType: 2, status: 0 });
    expect(r.requestData).toEqual({ dataSize: 603, version: 1, reportType: 2, hashType: 1 });
    expect(r.variableData).toHaveLength(583);
    expect(r.snpReport.reportData.subarray(0, 32)).toEqual(
      crypto.createHash('sha256').update(r.variableData).digest(),
    );
    expect(r.runtimeClaims['vm-configuration']).toMatchObject({ 'secure-boot': true, 'tpm-enabled': true });
    expect(hclAkPub(r).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(hclUserData(r)).toBeUndefined(); // this report predates the user-data claim
  });

  it('refuses each broken part with its own kind', () => {
    expectKind(() => parseHclReport(real.subarray(0, VARIABLE_DATA_OFFSET - 1)), HclReportError, 'bad-size');
    expectKind(() => parseHclReport(mutate(0, 0x41424344)), HclReportError, 'bad-signature');
    expectKind(() => parseHclReport(mutate(4, 2)), HclReportError, 'unsupported-version');
    expectKind(
      () => parseHclReport(mutate(REQUEST_DATA_OFFSET + 4, 2)),
      HclReportError,
      'unsupported-version',
    );
    const tdx = expectKind(
      () => parseHclReport(mutate(REQUEST_DATA_OFFSET + 8, 4)),
      HclReportError,
      'not-snp',
    );
    expect(tdx.message).toMatch(/TDX/);
    expectKind(
      () => parseHclReport(mutate(REQUEST_DATA_OFFSET + 12, 2)),
      HclReportError,
      'unsupported-hash-type',
    );
    expectKind(
      () => parseHclReport(mutate(REQUEST_DATA_OFFSET + 16, 0xffffffff)),
      HclReportError,
      'bad-size',
    );
    expectKind(() => parseHclReport(mutate(REQUEST_DATA_OFFSET + 16, 2048)), HclReportError, 'bad-size');
    expectKind(() => parseHclReport(mutate(REQUEST_DATA_OFFSET, 600)), HclReportError, 'bad-size');
    expectKind(() => parseHclReport(mutate(0x20, 6)), HclReportError, 'bad-snp-report');
  });

  it('refuses runtime claims the SNP report does not sign', () => {
    const b = Buffer.from(real);
    b[VARIABLE_DATA_OFFSET + 10]! ^= 0x20; // "kid" → "kiD"
    expectKind(() => parseHclReport(b), HclReportError, 'binding-mismatch');
  });

  it('refuses runtime claims that are not a JSON object, and claims without HCLAkPub', () => {
    expectKind(
      () => parseHclReport(rebound(Buffer.from('{"keys":'))),
      HclReportError,
      'runtime-claims-not-json',
    );
    expectKind(
      () => parseHclReport(rebound(Buffer.from('[1,2]'))),
      HclReportError,
      'runtime-claims-not-json',
    );
    expectKind(
      () => parseHclReport(rebound(Buffer.from([0xff, 0xfe]))),
      HclReportError,
      'runtime-claims-not-json',
    );
    const noAk = parseHclReport(
      rebound(Buffer.from('{"keys":[{"kid":"other","kty":"RSA","n":"AQAB","e":"AQAB"}]}')),
    );
    expectKind(() => hclAkPub(noAk), HclReportError, 'no-ak-pub');
  });
});

describe('buildHclReport', () => {
  it('lays out the real report byte for byte', () => {
    const r = parseHclReport(real);
    expect(
      buildHclReport({ snpReport: r.snpReportBytes, variableData: r.variableData, padTo: 2048 }),
    ).toEqual(real);
  });

  it('carries user data and refuses what does not fit', () => {
    const claims = Buffer.from(JSON.stringify({ 'user-data': 'ab'.repeat(64) }));
    expect(hclUserData(parseHclReport(rebound(claims)))).toEqual(Buffer.alloc(64, 0xab));
    expectKind(
      () => buildHclReport({ snpReport: Buffer.alloc(10), variableData: claims }),
      HclReportError,
      'bad-field',
    );
    expectKind(
      () => buildHclReport({ snpReport: Buffer.alloc(0x4a0), variableData: claims, padTo: 100 }),
      HclReportError,
      'bad-field',
    );
  });
});
