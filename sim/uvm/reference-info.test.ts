import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../core/snp/index.ts';
import { decodeReferenceInfoFile, parseReferenceInfo, verifyUvmEndorsement } from '../../core/uvm/index.ts';
import { FakeAmd, ReportSigner } from '../amd/index.ts';
import {
  referenceInfoFileContent,
  SIMULATED_UVM_MEASUREMENT,
  simulatedUvmIssuer,
  simulatedUvmSigningRoot,
} from './index.ts';

const policy = { trustedRoots: [simulatedUvmSigningRoot()], now: new Date('2026-06-01T00:00:00Z') };

describe('simulated UVM signing', () => {
  it('endorses the image every simulated guest launches by default', () => {
    const report = new ReportSigner(new FakeAmd({ product: 'Milan' })).sign({ reportData: Buffer.alloc(64) });
    expect(parseReport(report).measurement).toEqual(SIMULATED_UVM_MEASUREMENT);
    const info = parseReferenceInfo(decodeReferenceInfoFile(referenceInfoFileContent()));
    expect(verifyUvmEndorsement(info, parseReport(report).measurement, policy)).toMatchObject({
      issuer: simulatedUvmIssuer(),
      feed: 'ContainerPlat-AMD-UVM',
      guestSvn: '100',
    });
  });

  it('signs as Microsoft does: PS384, leaf then root, did:x509 naming the root, application/json', () => {
    const measurement = crypto.randomBytes(48);
    const info = parseReferenceInfo(
      decodeReferenceInfoFile(referenceInfoFileContent({ measurement, guestSvn: '3' })),
    );
    expect(info.alg).toBe(-38);
    expect(info.contentType).toBe('application/json');
    expect(info.x5chain.map((c) => c.subject.split('\n').at(-1))).toEqual([
      'CN=ContainerPlat (simulated)',
      'CN=Simulated Supply Chain RSA Root CA',
    ]);
    const fingerprint = crypto.createHash('sha256').update(simulatedUvmSigningRoot().raw).digest('base64url');
    expect(info.issuer).toBe(`did:x509:0:sha256:${fingerprint}::eku:1.3.6.1.4.1.311.76.59.1.2`);
    expect(verifyUvmEndorsement(info, measurement, policy).guestSvn).toBe('3');
    expect(() => verifyUvmEndorsement(info, SIMULATED_UVM_MEASUREMENT, policy)).toThrow(
      /not the report's MEASUREMENT/,
    );
  });
});
