/**
 * Evidence Azure Attestation accepts that the simulated MAA must accept too, and the near misses it
 * must keep refusing: version 1 reports (the REST spec's `AttestSevSnpVm` example is one), and reports
 * a VLEK signed, sent with VLEK ← ASVK ← ARK as `VcekCertChain`.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reportDataFor } from '../../core/runtime-data/report-data.ts';
import { OFFSET } from '../../core/snp/index.ts';
import { toPem } from '../../core/x509/index.ts';
import { FakeAmd, fixtureRootKeys, ReportSigner } from '../amd/index.ts';
import { MaaError } from './errors.ts';
import { verifyEvidence } from './evidence.ts';
import type { AttestSevSnpRequest } from './request.ts';
import { trustedArks } from './trusted-arks.ts';

const runtime = Buffer.from(JSON.stringify({ keys: [{ kty: 'RSA', kid: 'transfer' }] }));
const amd = new FakeAmd();
const policy = { trustedArks: trustedArks([amd.ark]), refuseDebug: false, now: new Date() };

function request(report: Buffer, chainPem: string): AttestSevSnpRequest {
  return {
    report,
    vcekCertChainPem: chainPem,
    endorsements: undefined,
    runtimeData: { bytes: runtime, dataType: 'JSON', json: undefined },
    initTimeData: undefined,
    nonce: undefined,
  };
}

const vcekChainPem = (): string => toPem(amd.vcek.raw) + amd.chainPem();

function refusal(fn: () => unknown): MaaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MaaError) return err;
    throw err;
  }
  throw new Error('expected a MaaError');
}

describe('a version 1 report', () => {
  const report = new ReportSigner(amd, {}, { version: 1 }).sign({ reportData: reportDataFor(runtime) });

  it('is accepted when its VCEK signed it', () => {
    expect(report.readUInt32LE(OFFSET.VERSION)).toBe(1);
    const verified = verifyEvidence(request(report, vcekChainPem()), policy);
    expect(verified.report.version).toBe(1);
    expect(verified.product).toBe('Milan');
  });

  it('is refused with one measurement bit flipped (InvalidQuote, signature)', () => {
    const altered = Buffer.from(report);
    altered[OFFSET.MEASUREMENT]! ^= 1;
    const err = refusal(() => verifyEvidence(request(altered, vcekChainPem()), policy));
    expect(err).toMatchObject({ code: 'InvalidQuote', kind: 'signature-invalid' });
  });

  it('is refused when it is version 0', () => {
    const v0 = Buffer.from(report);
    v0.writeUInt32LE(0, OFFSET.VERSION);
    const err = refusal(() => verifyEvidence(request(v0, vcekChainPem()), policy));
    expect(err.code).toBe('InvalidQuote');
  });

  it('is refused when its REPORT_DATA does not bind the runtime data', () => {
    const other = new ReportSigner(amd, {}, { version: 1 }).sign({ reportData: crypto.randomBytes(64) });
    const err = refusal(() => verifyEvidence(request(other, vcekChainPem()), policy));
    expect(err.code).toBe('InvalidParameter');
  });
});

describe('a report a VLEK signed', () => {
  const report = new ReportSigner(amd, {}, { signingKey: 'vlek' }).sign({
    reportData: reportDataFor(runtime),
  });
  const vlekChainPem = toPem(amd.vlekFor().cert.raw) + amd.chainPem('vlek');

  it('is accepted with the VLEK, the ASVK and the ARK', () => {
    const verified = verifyEvidence(request(report, vlekChainPem), policy);
    expect(verified.report.signerInfo.signingKey).toBe('vlek');
  });

  it('is refused with the chip’s VCEK chain (InvalidQuote)', () => {
    const err = refusal(() => verifyEvidence(request(report, vcekChainPem()), policy));
    expect(err).toMatchObject({ code: 'InvalidQuote', kind: 'unsupported-signing-key' });
  });

  it('is refused under an ASVK the trusted ARK did not sign', () => {
    const stranger = new FakeAmd({ keys: fixtureRootKeys('Genoa') });
    const foreign = toPem(stranger.vlekFor().cert.raw) + toPem(stranger.asvk.raw) + toPem(amd.ark.raw);
    const err = refusal(() => verifyEvidence(request(report, foreign), policy));
    expect(err.code).toBe('InvalidQuote');
  });
});
