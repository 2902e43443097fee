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
import { HOST_AMD_CERT_FILE, readUvmHostCertification } from './uvm-context.ts';
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
