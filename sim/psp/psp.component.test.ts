import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainFromPem, parseReport, verifyAttestation } from '../../core/snp/index.ts';
import { testdata } from '../../test/support/paths.ts';
import { FakeAmd } from '../amd/index.ts';
import { decodeReferenceInfoFile, parseReferenceInfo, verifyUvmEndorsement } from '../../core/uvm/index.ts';
import { simulatedUvmSigningRoot } from '../uvm/index.ts';
import { createSimulatorCa } from '../common/tls.ts';
import { httpsRequest } from '../../test/support/https-request.ts';
import {
  PSP_REPORT_PATH,
  startPsp,
  StaticPodIdentityResolver,
  type PspReport,
  type RunningPsp,
} from './index.ts';

const AGENT_POLICY = 'io.katacontainers.config.agent.policy';
const realPolicy = readFileSync(testdata('snp-real/policy.base64'), 'utf8').trim();
const REAL_DIGEST = 'cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c';
const reportData = 'ab'.repeat(32) + '00'.repeat(32);
const now = new Date();
const amd = new FakeAmd();
const ca = createSimulatorCa('PSP test CA');

interface ErrorBody {
  error: { code: string; message: string };
}

describe('mock PSP', () => {
  const resolver = new StaticPodIdentityResolver()
    .addPod(
      {
        namespace: 'apps',
        podName: 'web-0',
        podUid: 'uid-web-0',
        annotations: { [AGENT_POLICY]: realPolicy },
      },
      'token-web',
    )
    .addPod(
      {
        namespace: 'apps',
        podName: 'bad-0',
        podUid: 'uid-bad-0',
        annotations: { [AGENT_POLICY]: 'not base64!' },
      },
      'token-bad',
    )
    .addPod({ namespace: 'apps', podName: 'none-0', podUid: 'uid-none-0' }, 'token-none')
    .addPod(
      {
        namespace: 'apps',
        podName: 'gone-0',
        podUid: 'uid-gone-0',
        annotations: { [AGENT_POLICY]: realPolicy },
      },
      'token-gone',
    )
    .addPod(
      {
        namespace: 'apps',
        podName: 'edit-0',
        podUid: 'uid-edit-0',
        annotations: { [AGENT_POLICY]: realPolicy },
      },
      'token-edit',
    );
  let psp: RunningPsp;
  beforeAll(async () => {
    psp = await startPsp({ ca, amd, resolver });
  });
  afterAll(() => psp.close());

  const ask = (token: string | undefined, body: unknown = { reportData }) => requestJsonTo(psp, token, body);

  it('signs a report whose HOST_DATA is the policy digest of the calling pod’s annotation', async () => {
    const res = await ask('token-web');
    expect(res.status).toBe(200);
    const body = res.body as PspReport;
    expect(body.hostData).toBe(REAL_DIGEST);
    expect(body.policy).toEqual({ scheme: 'kata-agent-policy', annotation: AGENT_POLICY });
    expect(body.pod).toEqual({ namespace: 'apps', name: 'web-0', uid: 'uid-web-0' });
    const report = Buffer.from(body.report, 'base64');
    const verified = verifyAttestation(
      { report, ...chainFromPem(body.vcekCert, body.certificateChain) },
      { now, trustedArk: amd.ark },
    );
    expect(verified.report.hostData.toString('hex')).toBe(REAL_DIGEST);
    expect(verified.report.reportData.toString('hex')).toBe(reportData);
    expect(body.tcbm).toBe(report.readBigUInt64LE(0x180).toString(16).padStart(16, '0'));
  });

  it('hands over the UVM reference info for the report’s launch measurement, as a host mounts it', async () => {
    const body = (await ask('token-web')).body as PspReport;
    const info = parseReferenceInfo(decodeReferenceInfoFile(body.referenceInfo));
    const { measurement } = parseReport(Buffer.from(body.report, 'base64'));
    expect(
      verifyUvmEndorsement(info, measurement, { trustedRoots: [simulatedUvmSigningRoot()], now }),
    ).toMatchObject({ launchMeasurement: measurement.toString('hex'), feed: 'ContainerPlat-AMD-UVM' });
  });

  it('a pod cannot choose its own HOST_DATA', async () => {
    for (const field of ['hostData', 'host_data', 'HOST_DATA']) {
      const res = await ask('token-web', { reportData, [field]: '00'.repeat(32) });
      expect(res.status).toBe(400);
      expect((res.body as ErrorBody).error.code).toBe('HostDataNotAllowed');
    }
    const other = await ask('token-web', { reportData, measurement: '00' });
    expect((other.body as ErrorBody).error.code).toBe('BadRequest');
  });

  it('refuses a missing or unknown token with 401 and a Bearer challenge', async () => {
    for (const token of [undefined, 'token-nobody']) {
      const res = await ask(token);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      expect((res.body as ErrorBody).error.code).toBe('Unauthorized');
    }
  });

  it('refuses a malformed or missing policy annotation with 422 naming the annotation', async () => {
    const bad = await ask('token-bad');
    expect(bad.status).toBe(422);
    expect((bad.body as ErrorBody).error.code).toBe('InvalidPolicyAnnotation');
    expect((bad.body as ErrorBody).error.message).toContain(`annotation ${AGENT_POLICY}`);
    expect((bad.body as ErrorBody).error.message).toContain('apps/bad-0');
    const none = await ask('token-none');
    expect(none.status).toBe(422);
    expect((none.body as ErrorBody).error.message).toContain(AGENT_POLICY);
  });

  it('refuses a token whose pod is gone or was replaced (403)', async () => {
    expect((await ask('token-gone')).status).toBe(200);
    resolver.removePod('apps', 'gone-0');
    expect((await ask('token-gone')).status).toBe(403);
    resolver.addPod(
      { namespace: 'apps', podName: 'gone-0', podUid: 'uid-gone-1', annotations: {} },
      'token-gone-new',
    );
    const replaced = await ask('token-gone');
    expect(replaced.status).toBe(403);
    expect((replaced.body as ErrorBody).error.message).toMatch(/uid differs/);
  });

  it('refuses a bad body: reportData not 64 bytes of hex, VMPL out of range, not JSON', async () => {
    expect((await ask('token-web', { reportData: 'ab' })).status).toBe(400);
    expect((await ask('token-web', { reportData, vmpl: 4 })).status).toBe(400);
    expect((await ask('token-web', [reportData])).status).toBe(400);
    const notJson = await requestJsonTo(psp, 'token-web', undefined, '{"reportData":');
    expect(notJson.status).toBe(400);
  });

  it('takes the VMPL from the body', async () => {
    const res = await ask('token-web', { reportData, vmpl: 2 });
    expect(parseReport(Buffer.from((res.body as PspReport).report, 'base64')).vmpl).toBe(2);
  });

  it('pins HOST_DATA at the pod’s launch: editing the annotation later changes nothing', async () => {
    const first = (await ask('token-edit')).body as PspReport;
    resolver.addPod(
      {
        namespace: 'apps',
        podName: 'edit-0',
        podUid: 'uid-edit-0',
        annotations: { [AGENT_POLICY]: 'cGVybWl0IGFsbA==' },
      },
      'token-edit',
    );
    const second = (await ask('token-edit')).body as PspReport;
    expect(second.hostData).toBe(first.hostData);
    expect(parseReport(Buffer.from(second.report, 'base64')).hostData.toString('hex')).toBe(REAL_DIGEST);
  });

  it('counts the reports issued per pod', async () => {
    const before = psp.service.reportsIssued()['apps/web-0'] ?? 0;
    await ask('token-web');
    await ask('token-web');
    expect(psp.service.reportsIssued()['apps/web-0']).toBe(before + 2);
    expect(psp.service.stats().refused['unauthenticated']).toBeGreaterThan(0);
  });

  it('serves only the namespaces it is told to (mocked mode’s isolation): others get 403 naming the rule', async () => {
    const limited = await startPsp({ ca, amd, resolver, allowedNamespaces: ['shop', 'demo'] });
    try {
      const res = await requestJsonTo(limited, 'token-web', { reportData });
      expect(res.status).toBe(403);
      expect((res.body as ErrorBody).error.message).toContain(
        'pod apps/web-0: this PSP serves only namespaces shop, demo',
      );
      const open = await startPsp({ ca, amd, resolver, allowedNamespaces: ['apps'] });
      try {
        expect((await requestJsonTo(open, 'token-web', { reportData })).status).toBe(200);
      } finally {
        await open.close();
      }
    } finally {
      await limited.close();
    }
  });

  it('uses a configured policy scheme instead of detecting one', async () => {
    const strict = await startPsp({ ca, amd, resolver, policyScheme: 'kata-initdata' });
    try {
      const res = await requestJsonTo(strict, 'token-web', { reportData });
      expect(res.status).toBe(422);
      expect((res.body as ErrorBody).error.message).toContain(
        'io.katacontainers.config.hypervisor.cc_init_data',
      );
    } finally {
      await strict.close();
    }
  });
});

async function requestJsonTo(psp: RunningPsp, token: string | undefined, body: unknown, rawBody?: string) {
  const res = await httpsRequest(`${psp.url}${PSP_REPORT_PATH}`, {
    caPem: psp.caPem,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: rawBody ?? JSON.stringify(body),
  });
  return { ...res, body: res.json };
}
