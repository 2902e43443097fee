/**
 * The chain the agent sends with a report a VLEK signed: THIM and KDS's VCEK endpoint serve VCEKs
 * only, so it is the host's certificate table (VLEK GUID a8074bc2-…, the ASVK under the ASK GUID).
 */
import type { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { identifyAmdCertificate } from '../../core/snp/index.ts';
import { parsePemCertificates } from '../../core/x509/index.ts';
import { FakeAmd, ReportSigner } from '../../sim/amd/index.ts';
import { GuestRequestChannel } from '../../sim/sev/guest-channel.ts';
import { AgentError } from '../errors.ts';
import { ThimClient } from './thim.ts';
import { resolveVcekChain } from './vcek-chain.ts';

const amd = new FakeAmd();
const report = new ReportSigner(amd, {}, { signingKey: 'vlek' }).sign({ reportData: Buffer.alloc(64, 1) });
// Nothing listens there: a chain that needs THIM fails.
const thim = new ThimClient({ url: 'http://127.0.0.1:9' });

describe('a VLEK-signed report', () => {
  it.each(['auto', 'evidence', 'thim'] as const)(
    'mode %s: takes VLEK, ASVK, ARK from the certificate table',
    async (mode) => {
      const evidence = { report, certTable: amd.certTable(undefined, 'vlek'), source: 'test guest' };
      const chain = await resolveVcekChain(evidence, { mode, thim });
      expect(chain.origin).toBe('certificate-table');
      const roles = parsePemCertificates(chain.pem).map(
        (c: X509Certificate) => identifyAmdCertificate(c).role,
      );
      expect(roles).toEqual(['vlek', 'asvk', 'ark']);
    },
  );

  it('with a table holding only the VCEK chain: refused, naming the VLEK', async () => {
    const evidence = { report, certTable: amd.certTable(), source: 'test guest' };
    const err = await resolveVcekChain(evidence, { mode: 'evidence', thim }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).message).toMatch(/VLEK/);
  });

  it('a VCEK-signed report still ignores the table’s VLEK', async () => {
    const vcekReport = new ReportSigner(amd).sign({ reportData: Buffer.alloc(64, 1) });
    const both = amd.certTable(undefined, 'vlek');
    const evidence = { report: vcekReport, certTable: both, source: 'test guest' };
    const err = await resolveVcekChain(evidence, { mode: 'evidence', thim }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
  });
});

describe('the simulated guest device of a host provisioned with a VLEK', () => {
  it('hands out the VLEK table by default, which the agent takes', async () => {
    const signer = new ReportSigner(amd, {}, { signingKey: 'vlek' });
    const channel = new GuestRequestChannel({ signer });
    const evidence = {
      report: signer.sign({ reportData: Buffer.alloc(64, 2) }),
      certTable: channel.certTable!,
      source: 'sim',
    };
    const chain = await resolveVcekChain(evidence, { mode: 'evidence', thim });
    expect(parsePemCertificates(chain.pem)[0]!.raw.equals(amd.vlekFor().cert.raw)).toBe(true);
  });
});
