/**
 * The native helper (agent/native/sev-report.c), built here with gcc, run by the agent's backends
 * against the simulated guest kernel: an LD_PRELOAD shim (agent/native/testing/fake-sev-device.c)
 * turns its open/ioctl/close on /dev/sev-guest and /dev/sev into calls on the simulated devices'
 * socket, so the reports are signed by the simulated AMD platform and verified with core/snp.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCertTable,
  CERT_TABLE_GUIDS,
  findCertTableEntry,
  parseCertTable,
  parseReport,
  verifyAttestation,
} from '../../core/snp/index.ts';
import { FakeAmd, ReportSigner } from '../../sim/amd/index.ts';
import { serveDeviceSocket, simulatedGuest, type SimulatedGuestOptions } from '../../sim/sev/index.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';
import { parseAgentConfig } from '../config.ts';
import { AgentError } from '../errors.ts';
import type { Evidence } from './attester.ts';
import { HELPER_EXIT } from './native-helper.ts';
import { attesterFor } from './select.ts';
import { SevAciAttester } from './sev-aci.ts';
import { SevGuestDeviceAttester } from './sev-guest.ts';
import { parseSevReportFrame } from './sev-report-frame.ts';

const exec = promisify(execFile);
const native = path.join(repoRoot, 'agent/native');
const amd = new FakeAmd();
const hostData = Buffer.from('cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c', 'hex');
let dir: string;
let helper: string;
let shim: string;
let probe: string;
let sockets = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'securekey-native-'));
  helper = path.join(dir, 'bin/sev-report');
  shim = path.join(dir, 'fake-sev-device.so');
  probe = path.join(dir, 'ioctl-probe');
  const strict = ['-O2', '-Wall', '-Wextra', '-Werror'];
  await exec(path.join(native, 'build.sh'), [helper]);
  await exec('gcc', [
    ...strict,
    '-shared',
    '-fPIC',
    '-o',
    shim,
    path.join(native, 'testing/fake-sev-device.c'),
    '-ldl',
  ]);
  await exec('gcc', [...strict, '-o', probe, path.join(native, 'testing/ioctl-probe.c')]);
}, 60_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A launched guest whose devices the shim reaches; `env` is the helper's environment. */
async function guest(options: Partial<SimulatedGuestOptions> = {}, extraEnv: Record<string, string> = {}) {
  const g = simulatedGuest({
    signer: new ReportSigner(amd, { hostData }),
    interfaces: ['sev-guest', 'sev'],
    ...options,
  });
  const served = await serveDeviceSocket(path.join(dir, `guest-${++sockets}.sock`), g);
  const env = { LD_PRELOAD: shim, FAKE_SEV_SOCKET: served.path, ...extraEnv };
  return { channel: g.channel, env, close: () => served.close() };
}

const reportData = (): Buffer => crypto.randomBytes(64);

async function rejection(p: Promise<unknown>): Promise<AgentError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

/** The evidence is genuine (simulated AMD chain) and binds exactly this REPORT_DATA. */
function expectGenuine(evidence: Evidence, data: Buffer): void {
  const verified = verifyAttestation(
    { report: evidence.report, ...amd.chain() },
    { now: new Date(), trustedArk: amd.ark },
  );
  expect(verified.report.reportData.equals(data)).toBe(true);
  expect(verified.report.hostData.equals(hostData)).toBe(true);
  expect(verified.report.vmpl).toBe(0);
}

describe('/dev/sev-guest through the helper', () => {
  it('report and certificate table: genuine, bound to REPORT_DATA, the chain from the table verifies', async () => {
    const g = await guest();
    try {
      const data = reportData();
      const evidence = await new SevGuestDeviceAttester({ helper, env: g.env }).report(data);
      expect(evidence.source).toBe(`/dev/sev-guest SNP_GET_EXT_REPORT (helper ${helper})`);
      expectGenuine(evidence, data);
      const entries = parseCertTable(evidence.certTable!);
      const [vcek, ask, ark] = (['vcek', 'ask', 'ark'] as const).map((n) => findCertTableEntry(entries, n));
      const fromTable = verifyAttestation(
        { report: evidence.report, vcek: vcek!, ask: ask!, ark: ark! },
        { now: new Date(), trustedArk: amd.ark },
      );
      expect(fromTable.report.reportData.equals(data)).toBe(true);
      expect(evidence.certTable!.length).toBe(8192); // the helper's first buffer was big enough
      expect(g.channel.stats).toMatchObject({ requests: 1, reports: 1 });
    } finally {
      await g.close();
    }
  });

  it('a host with a bigger table → INVALID_LEN, the buffer grown to what the kernel wrote back, once', async () => {
    const extra = crypto.randomBytes(5000);
    const table = buildCertTable([
      ...parseCertTable(amd.certTable()),
      { guid: CERT_TABLE_GUIDS.crl, data: extra },
    ]);
    const g = await guest({ certTable: table });
    try {
      const data = reportData();
      const evidence = await new SevGuestDeviceAttester({ helper, env: g.env }).report(data);
      expectGenuine(evidence, data);
      expect(evidence.certTable!.length).toBe(12288);
      expect(findCertTableEntry(parseCertTable(evidence.certTable!), 'crl')).toEqual(extra);
      expect(g.channel.stats).toMatchObject({ requests: 2, reports: 1 });
    } finally {
      await g.close();
    }
  });

  it('a table over the kernel’s 16 KiB cap → evidence-failed naming INVALID_LEN, no second growth', async () => {
    const table = buildCertTable([
      ...parseCertTable(amd.certTable()),
      { guid: CERT_TABLE_GUIDS.crl, data: crypto.randomBytes(14_000) },
    ]);
    const g = await guest({ certTable: table });
    try {
      const err = await rejection(new SevGuestDeviceAttester({ helper, env: g.env }).report(reportData()));
      expect(err).toMatchObject({ kind: 'evidence-failed', step: 'evidence', endpoint: '/dev/sev-guest' });
      expect(err.message).toBe(
        "/dev/sev-guest: SNP_GET_EXT_REPORT failed: EIO (VMM error INVALID_LEN: the host needs 20480 bytes of certificates, more than the kernel's 16384)",
      );
      expect(g.channel.stats.requests).toBe(1);
    } finally {
      await g.close();
    }
  });

  it('throttled (EBUSY, VMM error BUSY) → retried with backoff until the host lets it through', async () => {
    // The host's clock advances 100 ms per request, so the outcome does not depend on process start-up.
    let tick = 0;
    const g = await guest({ throttle: { limit: 1, intervalMs: 250 }, now: () => 100 * tick++ });
    try {
      g.channel.reportRequest(Buffer.alloc(96)); // another process took this interval's request
      const data = reportData();
      const evidence = await new SevGuestDeviceAttester({ helper, env: g.env }).report(data);
      expectGenuine(evidence, data);
      expect(g.channel.stats).toMatchObject({ requests: 4, throttled: 2, reports: 2 });
    } finally {
      await g.close();
    }
  });

  it('throttled for good → evidence-failed with the errno, the VMM error and a throttling hint', async () => {
    const g = await guest({ throttle: { limit: 0, intervalMs: 60_000, errno: 'EAGAIN' } });
    try {
      const err = await rejection(new SevGuestDeviceAttester({ helper, env: g.env }).report(reportData()));
      expect(err).toMatchObject({
        kind: 'evidence-failed',
        hint: 'the host kept throttling report requests',
      });
      expect(err.message).toBe(
        '/dev/sev-guest: SNP_GET_EXT_REPORT failed: EAGAIN (firmware error 0x0, VMM error 2)',
      );
      expect(g.channel.stats.throttled).toBe(6);
    } finally {
      await g.close();
    }
  }, 15_000);

  it('a firmware error → EIO with its code; the wiped VMPCK then → ENOTTY (plain report tried too)', async () => {
    const g = await guest();
    try {
      g.channel.injectFirmwareError(0x17);
      const attester = new SevGuestDeviceAttester({ helper, env: g.env });
      const first = await rejection(attester.report(reportData()));
      expect(first.message).toBe(
        '/dev/sev-guest: SNP_GET_EXT_REPORT failed: EIO (firmware error 0x17, VMM error 0)',
      );
      expect(first.hint).toBe('the firmware or hypervisor failed the request');
      const second = await rejection(attester.report(reportData()));
      expect(second.message).toBe(
        '/dev/sev-guest: SNP_GET_REPORT (after SNP_GET_EXT_REPORT: ENOTTY) failed: ENOTTY (firmware error 0x0, VMM error 0)',
      );
      expect(second.hint).toContain('VMPCK');
    } finally {
      await g.close();
    }
  });

  it('a driver without SNP_GET_EXT_REPORT → SNP_GET_REPORT, genuine, without a table', async () => {
    const g = await guest({}, { FAKE_SEV_NO_EXT_REPORT: '1' });
    try {
      const data = reportData();
      const evidence = await new SevGuestDeviceAttester({ helper, env: g.env }).report(data);
      expect(evidence.source).toContain('/dev/sev-guest SNP_GET_REPORT');
      expect(evidence.certTable).toBeUndefined();
      expectGenuine(evidence, data);
    } finally {
      await g.close();
    }
  });

  it('a guest without the device → device-unavailable with the confidential-VM hint', async () => {
    const g = await guest({ interfaces: ['tsm'] });
    try {
      const err = await rejection(new SevGuestDeviceAttester({ helper, env: g.env }).report(reportData()));
      expect(err).toMatchObject({
        kind: 'device-unavailable',
        step: 'evidence',
        endpoint: '/dev/sev-guest',
        message:
          '/dev/sev-guest does not exist: this is not an SEV-SNP guest, or the device is not mounted into the container',
      });
      expect(err.hint).toContain(
        'is this a confidential VM / pod sandbox? use configfs-tsm on newer kernels',
      );
      expect(g.channel.stats.requests).toBe(0);
    } finally {
      await g.close();
    }
  });

  it('a device node the agent may not open → device-unavailable naming EACCES and the uid', async () => {
    const g = await guest({}, { FAKE_SEV_OPEN_ERRNO: '13' });
    try {
      const err = await rejection(new SevGuestDeviceAttester({ helper, env: g.env }).report(reportData()));
      expect(err).toMatchObject({
        kind: 'device-unavailable',
        endpoint: '/dev/sev-guest',
        message: 'the agent may not open /dev/sev-guest (/dev/sev-guest: open failed: EACCES)',
      });
      expect(err.hint).toContain('uid 65532');
    } finally {
      await g.close();
    }
  });
});

describe("ACI's /dev/sev through the helper", () => {
  it('SEV_SNP_GUEST_MSG_REPORT: a genuine report bound to REPORT_DATA, no certificates', async () => {
    const g = await guest({ interfaces: ['sev'] });
    try {
      const data = reportData();
      const evidence = await new SevAciAttester({ helper, env: g.env }).report(data);
      expect(evidence.source).toBe(`/dev/sev SEV_SNP_GUEST_MSG_REPORT (helper ${helper})`);
      expect(evidence.certTable).toBeUndefined();
      expectGenuine(evidence, data);
    } finally {
      await g.close();
    }
  });

  it('a firmware error → EIO with the firmware code from the struct’s error field', async () => {
    const g = await guest({ interfaces: ['sev'] });
    try {
      g.channel.injectFirmwareError(0x27);
      const err = await rejection(new SevAciAttester({ helper, env: g.env }).report(reportData()));
      expect(err).toMatchObject({ kind: 'evidence-failed', endpoint: '/dev/sev' });
      expect(err.message).toBe('/dev/sev: SEV_SNP_GUEST_MSG_REPORT failed: EIO (firmware error 0x27)');
    } finally {
      await g.close();
    }
  });

  it('a 6.x guest (no /dev/sev) → device-unavailable pointing at sev-guest and tsm', async () => {
    const g = await guest({ interfaces: ['sev-guest'] });
    try {
      const err = await rejection(new SevAciAttester({ helper, env: g.env }).report(reportData()));
      expect(err).toMatchObject({ kind: 'device-unavailable', endpoint: '/dev/sev' });
      expect(err.hint).toContain('SECUREKEY_EVIDENCE=sev-guest');
    } finally {
      await g.close();
    }
  });
});

describe('wiring', () => {
  it.each([
    ['sev-guest', 'SNP_GET_EXT_REPORT'],
    ['sev', 'SEV_SNP_GUEST_MSG_REPORT'],
  ] as const)(
    'SECUREKEY_EVIDENCE=%s and SECUREKEY_SEV_HELPER → that helper, that device',
    async (backend, ioctl) => {
      const g = await guest();
      try {
        // The agent gives the helper no environment: a wrapper at the configured path adds the shim's.
        const wrapper = path.join(dir, `wrapper-${backend}`);
        const env = Object.entries(g.env)
          .map(([k, v]) => `${k}='${v}'`)
          .join(' ');
        writeFileSync(wrapper, `#!/bin/sh\nexec env ${env} '${helper}' "$@"\n`);
        chmodSync(wrapper, 0o755);
        const config = parseAgentConfig([], {
          SECUREKEY_VAULT_URL: 'https://hsm1.managedhsm.azure.net',
          SECUREKEY_ATTESTATION_URL: 'https://maa1.weu.attest.azure.net',
          SECUREKEY_KEYS: 'db=db-key',
          AZURE_TENANT_ID: 'tenant',
          AZURE_CLIENT_ID: 'client',
          AZURE_FEDERATED_TOKEN_FILE: '/var/run/token',
          SECUREKEY_EVIDENCE: backend,
          SECUREKEY_SEV_HELPER: wrapper,
        });
        const attester = await attesterFor(config, { deadline: Date.now() + 10_000 });
        expect(attester.name).toBe(backend);
        const data = reportData();
        const evidence = await attester.report(data);
        expect(evidence.source).toBe(`/dev/${backend} ${ioctl} (helper ${wrapper})`);
        expectGenuine(evidence, data);
      } finally {
        await g.close();
      }
    },
  );
});

describe('the shim answers malformed ioctls as the kernel does', () => {
  // ioctl-probe REQUEST MSG_VERSION CERTS_LEN → "errno=… exitinfo2=… certs_len=…"
  it.each([
    ['an unknown command', 'c0205303', '1', '0', 'errno=25 exitinfo2=0xff certs_len=0'],
    ['msg_version 0', 'c0205302', '0', '8192', 'errno=22 exitinfo2=0x0 certs_len=8192'],
    ['certs_len below the table', 'c0205302', '1', '4096', 'errno=5 exitinfo2=0x100000000 certs_len=8192'],
    ['certs_len not whole pages', 'c0205302', '1', '5000', 'errno=22 exitinfo2=0xff certs_len=5000'],
    ['SNP_GET_EXT_REPORT', 'c0205302', '1', '8192', 'errno=0 exitinfo2=0x0 certs_len=8192'],
    ['SNP_GET_REPORT', 'c0205300', '1', '0', 'errno=0 exitinfo2=0x0 certs_len=0'],
  ])('%s', async (_name, request, version, certsLen, expected) => {
    const g = await guest();
    try {
      const { stdout } = await exec(probe, [request, version, certsLen], { env: g.env });
      expect(stdout.trim()).toBe(expected);
    } finally {
      await g.close();
    }
  });
});

describe('the helper itself', () => {
  it('takes exactly 64 bytes of REPORT_DATA and a known device kind, else exits 2 without output', async () => {
    const g = await guest();
    try {
      const cases: [string[], Buffer][] = [
        [['sev-guest'], Buffer.alloc(63)],
        [['sev-guest'], Buffer.alloc(65)],
        [['sev-snp'], Buffer.alloc(64)],
        [['sev-guest', 'dev/sev-guest'], Buffer.alloc(64)],
      ];
      for (const [args, input] of cases) {
        const r = await runHelper(helper, args, input, g.env);
        expect(r.code).toBe(HELPER_EXIT.usage);
        expect(r.stdout.length).toBe(0);
        expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      }
      expect(g.channel.stats.requests).toBe(0);
    } finally {
      await g.close();
    }
  });

  it('never writes REPORT_DATA to stderr, and its frame parses', async () => {
    const g = await guest({ throttle: { limit: 0, intervalMs: 60_000 } });
    const ok = await guest();
    try {
      const data = Buffer.from('0123456789abcdef'.repeat(4));
      const failed = await runHelper(helper, ['sev-guest'], data, g.env);
      expect(failed.code).toBe(HELPER_EXIT.busy);
      expect(failed.stderr).not.toContain('0123456789abcdef');
      const good = await runHelper(helper, ['sev-guest'], data, ok.env);
      expect(good.code).toBe(0);
      expect(good.stderr).toBe('');
      const frame = parseSevReportFrame(good.stdout);
      expect(parseReport(frame.report).reportData.equals(data)).toBe(true);
    } finally {
      await g.close();
      await ok.close();
    }
  }, 15_000);

  it('build.sh fails clearly without a compiler and leaves no helper behind', async () => {
    const out = path.join(dir, 'never/sev-report');
    const r = await exec(path.join(native, 'build.sh'), [out], {
      env: { ...process.env, CC: 'no-such-cc' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("C compiler 'no-such-cc' not found");
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('the agent side refuses what is not a helper’s answer', () => {
  /** A "helper" that prints these bytes and exits with `code`. */
  function fakeHelper(name: string, bytes: Buffer, code = 0, stderr = ''): string {
    const data = path.join(dir, `${name}.bin`);
    writeFileSync(data, bytes);
    const script = path.join(dir, name);
    writeFileSync(
      script,
      `#!/bin/sh\ncat >/dev/null\ncat '${data}'\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`,
    );
    chmodSync(script, 0o755);
    return script;
  }

  let good: Buffer;
  beforeAll(async () => {
    const g = await guest();
    try {
      good = (await runHelper(helper, ['sev-guest'], reportData(), g.env)).stdout;
    } finally {
      await g.close();
    }
  });

  const mutate = (f: (b: Buffer) => Buffer) => () => f(Buffer.from(good));
  it.each([
    ['garbage', () => Buffer.from('hello\n'), 'shorter than the 12-byte header'],
    ['another magic', mutate((b) => (b.write('SKSX', 0, 'latin1'), b)), 'the magic is not "SKSR"'],
    ['frame version 2', mutate((b) => (b.writeUInt8(2, 4), b)), 'frame version 2, expected 1'],
    ['unknown ioctl', mutate((b) => (b.writeUInt8(9, 5), b)), 'unknown ioctl code 9'],
    ['report length 100', mutate((b) => (b.writeUInt32LE(100, 8), b)), 'report length 100, expected 1184'],
    ['truncated', mutate((b) => b.subarray(0, b.length - 1)), 'but the lengths add up to'],
    ['trailing byte', mutate((b) => Buffer.concat([b, Buffer.from([0])])), 'but the lengths add up to'],
    [
      'certificates on SNP_GET_REPORT',
      mutate((b) => (b.writeUInt8(2, 5), b)),
      'SNP_GET_REPORT carries no certificates',
    ],
    [
      'a certificate buffer that is not whole pages',
      mutate((b) => {
        const at = 12 + 1184;
        const out = Buffer.concat([b.subarray(0, at + 4), b.subarray(at + 4, at + 4 + 100)]);
        out.writeUInt32LE(100, at);
        return out;
      }),
      'certificate buffer of 100 bytes is not whole pages',
    ],
  ])('%s → evidence-malformed', async (name, bytes, why) => {
    const script = fakeHelper(`broken-${name.replaceAll(' ', '-')}`, bytes());
    const err = await rejection(new SevGuestDeviceAttester({ helper: script }).report(reportData()));
    expect(err).toMatchObject({ kind: 'evidence-malformed', step: 'evidence', endpoint: '/dev/sev-guest' });
    expect(err.message).toContain("the helper's output is not a report frame");
    expect(err.message).toContain(why);
  });

  it('the unmodified frame parses (the cases above differ from it only by their fault)', () => {
    expect(parseSevReportFrame(good).ioctl).toBe('SNP_GET_EXT_REPORT');
  });

  it('an unknown exit code → evidence-failed naming it and the helper’s line', async () => {
    const script = fakeHelper('exit-9', Buffer.alloc(0), 9, 'sev-report: something odd');
    const err = await rejection(new SevGuestDeviceAttester({ helper: script }).report(reportData()));
    expect(err).toMatchObject({
      kind: 'evidence-failed',
      message: 'the sev-report helper failed (exit 9): something odd',
    });
  });

  it('no helper: the device absent → the no-device error; present → names the helper and how to build it', async () => {
    const missing = path.join(dir, 'no/sev-report');
    const absent = path.join(dir, 'dev-absent');
    const err = await rejection(
      new SevGuestDeviceAttester({ helper: missing, device: absent }).report(reportData()),
    );
    expect(err).toMatchObject({ kind: 'device-unavailable', endpoint: absent });
    expect(err.message).toBe(
      `${absent} does not exist: this is not an SEV-SNP guest, or the device is not mounted into the container`,
    );
    const present = path.join(dir, 'dev-present');
    writeFileSync(present, '');
    const err2 = await rejection(
      new SevAciAttester({ helper: missing, device: present }).report(reportData()),
    );
    expect(err2).toMatchObject({ kind: 'device-unavailable', endpoint: present });
    expect(err2.message).toBe(
      `${present} is present, but its SEV_SNP_GUEST_MSG_REPORT ioctl needs a native helper, which is not available here (${missing}: ENOENT)`,
    );
    expect(err2.hint).toContain(`agent/native/build.sh ${missing}`);
    expect(err2.hint).toContain('SECUREKEY_SEV_HELPER');
  });
});

function runHelper(
  file: string,
  args: string[],
  input: Buffer,
  env: Record<string, string>,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, encoding: 'buffer' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: stderr.toString('utf8') });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}
