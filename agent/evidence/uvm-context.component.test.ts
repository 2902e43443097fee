import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../core/snp/index.ts';
import { isErrorOf } from '../../core/errors.ts';
import { FakeAmd, ReportSigner } from '../../sim/amd/index.ts';
import { startThim, type RunningThim } from '../../sim/thim/index.ts';
import { AgentError } from '../errors.ts';
import { ThimClient } from './thim.ts';
import { HOST_AMD_CERT_FILE, readUvmHostCertification, readUvmReferenceInfo } from './uvm-context.ts';
import { mkdirSync, readFileSync } from 'node:fs';
import { testdata } from '../../test/support/paths.ts';
import { attestRequestBody } from '../../edge/azure/attestation-client.ts';
import { parseAttestRequest } from '../../sim/maa/request.ts';
import { goUrlBase64 } from '../../test/support/sim/sidecar-request.ts';
import { resolveVcekChain } from './vcek-chain.ts';

const amd = new FakeAmd({ product: 'Milan' });
const report = new ReportSigner(amd, { hostData: Buffer.alloc(32, 7) }).sign({
  reportData: Buffer.alloc(64, 1),
});
const evidence = { report, source: 'test guest' };
const reportedTcb = parseReport(report).reportedTcb;
let thim: RunningThim;

function contextDir(content: string | undefined): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'security-context-'));
  if (content !== undefined) writeFileSync(path.join(dir, HOST_AMD_CERT_FILE), content);
  return dir;
}

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

beforeAll(async () => {
  thim = await startThim({ amd });
});
afterAll(async () => {
  await thim?.close();
});

describe('UVM security context as a VCEK chain source', () => {
  it('a host certificate for the report’s TCB is used as it is, without asking THIM', async () => {
    const uvm = await readUvmHostCertification(contextDir(b64json(amd.thimCertification(reportedTcb))));
    const client = new ThimClient({ url: thim.url });
    const before = JSON.stringify(thim.service.counters);
    const chain = await resolveVcekChain(evidence, { mode: 'auto', thim: client, uvm: uvm! });
    expect(chain.origin).toBe('uvm-security-context');
    expect(chain.pem).toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(thim.service.counters)).toBe(before);
  });

  it('a host certificate for another TCB (after a firmware update) → THIM is asked for the reported one', async () => {
    const stale = amd.thimCertification(reportedTcb - 1n);
    const uvm = await readUvmHostCertification(contextDir(b64json(stale)));
    const chain = await resolveVcekChain(evidence, {
      mode: 'auto',
      thim: new ThimClient({ url: thim.url }),
      uvm: uvm!,
    });
    expect(chain.origin).toBe('thim-for-reported-tcb');
  });

  it('no host certificate (AKS Kata pods mount only reference info) → nothing, and THIM serves', async () => {
    expect(await readUvmHostCertification(contextDir(undefined))).toBeUndefined();
  });

  it('an unreadable host certificate is named', async () => {
    const dir = contextDir('this is not base64 json');
    const err = await readUvmHostCertification(dir).catch((e: unknown) => e);
    expect(isErrorOf(err, AgentError, 'evidence-malformed')).toBe(true);
    expect((err as AgentError).message).toContain(path.join(dir, HOST_AMD_CERT_FILE));
  });
});

describe('UVM reference info (the UVM endorsement)', () => {
  // Microsoft's published reference info: the real file hcsshim writes (testdata/README.md).
  const real = readFileSync(testdata('uvm-reference-info/reference-info-base64'), 'utf8');
  const file = 'reference-info-base64';
  const withFile = (dir: string, content = real): string => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, file), content);
    return dir;
  };
  const tmp = () => mkdtempSync(path.join(tmpdir(), 'uvm-'));

  it('reads the configured security context directory only, as the sidecar does', async () => {
    const dir = withFile(tmp());
    const { found, searched } = await readUvmReferenceInfo({ dir, root: tmp(), kataDir: withFile(tmp()) });
    expect(found?.source).toBe(path.join(dir, file));
    expect(found?.cose.subarray(0, 2).toString('hex')).toBe('d284');
    expect(found?.cose.equals(Buffer.from(real, 'base64'))).toBe(true);
    expect(searched).toEqual([path.join(dir, file)]);
    const empty = tmp();
    expect(await readUvmReferenceInfo({ dir: empty, kataDir: withFile(tmp()) })).toEqual({
      found: undefined,
      searched: [path.join(empty, file)],
    });
  });

  it('else a /security-context-* directory (ACI), else the Kata share directory (AKS)', async () => {
    const root = tmp();
    mkdirSync(path.join(root, 'not-a-context'));
    const aci = withFile(path.join(root, 'security-context-3f2a'));
    const kata = withFile(tmp());
    expect((await readUvmReferenceInfo({ root, kataDir: kata })).found?.source).toBe(path.join(aci, file));
    const bare = tmp();
    const viaKata = await readUvmReferenceInfo({ root: bare, kataDir: kata });
    expect(viaKata.found?.source).toBe(path.join(kata, file));
    const none = await readUvmReferenceInfo({ root: bare, kataDir: path.join(bare, 'absent') });
    expect(none).toEqual({ found: undefined, searched: [path.join(bare, 'absent', file)] });
    // hcsshim writes an empty file when the host has no reference info.
    expect((await readUvmReferenceInfo({ dir: withFile(tmp(), '\n') })).found).toBeUndefined();
  });

  it('a file that is not reference info is named', async () => {
    const dir = withFile(tmp(), Buffer.from('{"not":"cose"}').toString('base64'));
    const err = await readUvmReferenceInfo({ dir }).catch((e: unknown) => e);
    expect(isErrorOf(err, AgentError, 'evidence-malformed')).toBe(true);
    expect((err as AgentError).message).toContain(path.join(dir, file));
  });

  it('is sent as the sidecar sends it: Endorsements = base64url({"Uvm": [base64url(COSE_Sign1)]})', () => {
    const cose = Buffer.from(real, 'base64');
    const body = JSON.parse(
      attestRequestBody({
        report,
        vcekChainPem: 'PEM',
        runtimeData: Buffer.from('{}'),
        uvmReferenceInfo: cose,
      }),
    ) as {
      report: string;
    };
    const evidenceJson = JSON.parse(Buffer.from(body.report, 'base64url').toString()) as Record<
      string,
      string
    >;
    expect(Object.keys(evidenceJson)).toEqual(['SnpReport', 'VcekCertChain', 'Endorsements']);
    // Go's URLEncoding, padded, exactly as the sidecar writes both layers.
    expect(evidenceJson['Endorsements']).toBe(goUrlBase64(JSON.stringify({ Uvm: [goUrlBase64(cose)] })));
    const parsed = parseAttestRequest(Buffer.from(JSON.stringify(body)));
    expect(parsed.endorsements).toEqual({ Uvm: [goUrlBase64(cose)] });
    const without = JSON.parse(
      attestRequestBody({ report, vcekChainPem: 'PEM', runtimeData: Buffer.from('{}') }),
    ) as {
      report: string;
    };
    expect(Object.keys(JSON.parse(Buffer.from(without.report, 'base64url').toString()) as object)).toEqual([
      'SnpReport',
      'VcekCertChain',
    ]);
  });
});

describe('AMD KDS as a VCEK chain source', () => {
  it('mode kds: the VCEK for the report’s chip and TCB and the ASK/ARK come from KDS, not THIM', async () => {
    const before = { ...thim.service.counters };
    const chain = await resolveVcekChain(evidence, {
      mode: 'kds',
      thim: new ThimClient({ url: 'http://127.0.0.1:9' }),
      kds: { url: thim.url },
    });
    expect(chain.origin).toBe('kds');
    expect(thim.service.counters.kdsVcek).toBe(before.kdsVcek + 1);
    expect(thim.service.counters.kdsChain).toBe(before.kdsChain + 1);
    expect(thim.service.counters.thim).toBe(before.thim);
  });

  it('mode auto: THIM unreachable → KDS, when configured; without KDS THIM’s failure stands', async () => {
    const dead = new ThimClient({ url: 'http://127.0.0.1:9', deadline: Date.now() + 1500 });
    const chain = await resolveVcekChain(evidence, { mode: 'auto', thim: dead, kds: { url: thim.url } });
    expect(chain.origin).toBe('kds');
    const err = await resolveVcekChain(evidence, {
      mode: 'auto',
      thim: new ThimClient({ url: 'http://127.0.0.1:9', deadline: Date.now() + 1500 }),
    }).catch((e: unknown) => e);
    expect(isErrorOf(err, AgentError, 'certificates-unavailable')).toBe(true);
  });
});
