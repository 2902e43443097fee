import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chainFromPem,
  decodeKdsExtensions,
  decomposeTcb,
  parseReport,
  SnpVerifyError,
  verifyAttestation,
} from '../../core/snp/index.ts';
import { expectKind } from '../../test/support/snp.ts';
import { FakeAmd, ReportSigner } from '../amd/index.ts';
import { startThim, THIM_PATH, type RunningThim } from './index.ts';

const now = new Date();
const reportData = Buffer.alloc(64, 0x42);

interface ThimJson {
  vcekCert: string;
  tcbm: string;
  certificateChain: string;
  cacheControl: string;
}

/** What a client such as the SKR sidecar does: THIM's tcbm read as a u64 equals the report's REPORTED_TCB. */
const reportedTcbHex = (report: Buffer) => report.readBigUInt64LE(0x180).toString(16).padStart(16, '0');

describe('THIM', () => {
  const amd = new FakeAmd();
  const report = new ReportSigner(amd).sign({ reportData });
  let thim: RunningThim;
  beforeAll(async () => {
    thim = await startThim({ amd });
  });
  afterAll(() => thim.close());
  const get = (path: string, headers: Record<string, string> = { Metadata: 'true' }) =>
    fetch(`${thim.url}${path}`, { headers });

  it('refuses a request without `Metadata: true`, or through a proxy, as IMDS does', async () => {
    for (const headers of [
      {},
      { Metadata: 'false' },
      { Metadata: 'True' },
      { Metadata: 'true', 'X-Forwarded-For': '10.0.0.1' },
    ] as Record<string, string>[]) {
      const res = await get(THIM_PATH, headers);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'Bad request. Required metadata header not specified' });
    }
  });

  it('answers {vcekCert, tcbm, certificateChain, cacheControl}; tcbm is the VCEK’s TCB and the report’s', async () => {
    const res = await get(THIM_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as ThimJson;
    expect(Object.keys(doc)).toEqual(['vcekCert', 'tcbm', 'certificateChain', 'cacheControl']);
    expect(doc.tcbm).toBe('7308000000000003');
    expect(doc.tcbm).toBe(reportedTcbHex(report));
    const ext = decodeKdsExtensions(new X509Certificate(doc.vcekCert));
    const fromTcbm = decomposeTcb(BigInt(`0x${doc.tcbm}`), 'Milan');
    expect([ext.blSpl, ext.teeSpl, ext.snpSpl, ext.ucodeSpl]).toEqual([
      fromTcbm.blSpl,
      fromTcbm.teeSpl,
      fromTcbm.snpSpl,
      fromTcbm.ucodeSpl,
    ]);
    const chain = chainFromPem(doc.vcekCert, doc.certificateChain);
    expect(verifyAttestation({ report, ...chain }, { now, trustedArk: amd.ark }).report.reportData).toEqual(
      reportData,
    );
  });

  it('TCB mismatch: an older VCEK is served; the explicit query form returns the right one', async () => {
    thim.service.servedTcb = amd.vcekFor({ blSpl: 2, teeSpl: 0, snpSpl: 8, ucodeSpl: 115 }).tcb;
    try {
      const stale = (await (await get(THIM_PATH)).json()) as ThimJson;
      expect(stale.tcbm).toBe('7308000000000002');
      expect(stale.tcbm).not.toBe(reportedTcbHex(report));
      expectKind(
        () =>
          verifyAttestation(
            { report, ...chainFromPem(stale.vcekCert, stale.certificateChain) },
            { now, trustedArk: amd.ark },
          ),
        SnpVerifyError,
        'signature-invalid',
      );

      const r = parseReport(report);
      const refreshed = await get(
        `${THIM_PATH}?tcbVersion=${reportedTcbHex(report)}&platformId=${r.chipId.toString('hex')}&productName=Milan`,
      );
      expect(refreshed.status).toBe(200);
      const doc = (await refreshed.json()) as ThimJson;
      expect(doc.tcbm).toBe(reportedTcbHex(report));
      const chain = chainFromPem(doc.vcekCert, doc.certificateChain);
      expect(verifyAttestation({ report, ...chain }, { now, trustedArk: amd.ark }).product).toBe('Milan');
      expect(thim.service.counters.thimExplicit).toBe(1);
    } finally {
      thim.service.servedTcb = amd.tcb;
    }
  });

  it('the query form refuses a malformed tcbVersion (400) and another platform (404)', async () => {
    expect((await get(`${THIM_PATH}?tcbVersion=xyz`)).status).toBe(400);
    expect((await get(`${THIM_PATH}?tcbVersion=7308000000000003&platformId=${'00'.repeat(64)}`)).status).toBe(
      404,
    );
    expect((await get(`${THIM_PATH}?tcbVersion=7308000000000003&productName=Genoa`)).status).toBe(404);
  });
});

describe('AMD KDS paths', () => {
  for (const product of ['Milan', 'Turin'] as const) {
    const amd = new FakeAmd({ product });
    const report = new ReportSigner(amd).sign({ reportData });
    let kds: RunningThim;
    beforeAll(async () => {
      kds = await startThim({ amd });
    });
    afterAll(() => kds.close());

    it(`${product}: the VCEK URL built from the report, and cert_chain, verify the report`, async () => {
      const r = parseReport(report);
      const tcb = decomposeTcb(r.reportedTcb, product);
      const hwid = (product === 'Turin' ? r.chipId.subarray(0, 8) : r.chipId).toString('hex');
      const spl =
        product === 'Turin'
          ? `fmcSPL=${tcb.fmcSpl}&blSPL=${tcb.blSpl}&teeSPL=${tcb.teeSpl}&snpSPL=${tcb.snpSpl}&ucodeSPL=${tcb.ucodeSpl}`
          : `blSPL=${tcb.blSpl}&teeSPL=${tcb.teeSpl}&snpSPL=${tcb.snpSpl}&ucodeSPL=${tcb.ucodeSpl}`;
      const vcekRes = await fetch(`${kds.url}/vcek/v1/${product}/${hwid}?${spl}`);
      expect(vcekRes.status).toBe(200);
      const vcek = Buffer.from(await vcekRes.arrayBuffer());
      const chainRes = await fetch(`${kds.url}/vcek/v1/${product}/cert_chain`);
      const pem = await chainRes.text();
      const { ask, ark } = chainFromPem(new X509Certificate(vcek).toString(), pem);
      expect(ark.raw).toEqual(amd.ark.raw);
      expect(verifyAttestation({ report, vcek, ask, ark }, { now, trustedArk: amd.ark }).product).toBe(
        product,
      );
      // KDS writes hwID as an OCTET STRING (THIM writes it raw).
      expect(decodeKdsExtensions(vcek).hwId?.toString('hex')).toBe(hwid);
    });

    it(`${product}: missing SPLs → 400, unknown hwid or product → 404, CRL served`, async () => {
      const hwid = (product === 'Turin' ? amd.chipId.subarray(0, 8) : amd.chipId).toString('hex');
      expect((await fetch(`${kds.url}/vcek/v1/${product}/${hwid}?blSPL=3`)).status).toBe(400);
      expect((await fetch(`${kds.url}/vcek/v1/${product}/${'ab'.repeat(64)}?blSPL=3`)).status).toBe(404);
      expect((await fetch(`${kds.url}/vcek/v1/Genoa/cert_chain`)).status).toBe(404);
      const crl = await fetch(`${kds.url}/vcek/v1/${product}/crl`);
      expect(crl.status).toBe(200);
      expect(crl.headers.get('content-type')).toBe('application/pkix-crl');
    });
  }
});
