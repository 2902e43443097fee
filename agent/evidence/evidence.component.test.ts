/**
 * The evidence backends and VCEK chain sources, each driving a whole agent run in process against the
 * sandbox: the simulated `/dev/sev-guest` and configfs-tsm over the devices' Unix socket (the same
 * framing a container would see), THIM, the certificate table, and the TCB-mismatch recovery.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeTcb, decomposeTcb } from '../../core/snp/index.ts';
import { FakeAmd, fixtureRootKeys, ReportSigner } from '../../sim/amd/index.ts';
import { serveDeviceSocket, simulatedGuest, type SimulatedGuestOptions } from '../../sim/sev/index.ts';
import { parseAgentConfig } from '../config.ts';
import { AgentError } from '../errors.ts';
import { runAgent, type AgentResult } from '../flow.ts';
import { ADMITTED_DIGEST, startAgentWorld, type AgentWorld } from '../../test/support/agent/world.ts';
import { SevGuestDeviceAttester } from './sev-guest.ts';
import { TsmAttester } from './tsm.ts';

let world: AgentWorld;
let sockets = 0;

beforeAll(async () => {
  world = await startAgentWorld();
}, 60_000);
afterAll(async () => {
  await world?.close();
});

/** A guest launched with the admitted digest, its devices served on a fresh socket. */
async function guestSocket(options: Partial<SimulatedGuestOptions> = {}) {
  const guest = simulatedGuest({ signer: world.admittedSigner(), ...options });
  const served = await serveDeviceSocket(path.join(world.dir, `guest-${++sockets}.sock`), guest);
  return { guest, path: served.path, close: () => served.close() };
}

async function run(env: Record<string, string | undefined>): Promise<{ result: AgentResult; out: string }> {
  const out = world.outputDir('evidence');
  const config = parseAgentConfig(
    ['init'],
    world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=oct-key', ...env }),
  );
  return { result: await runAgent(config), out };
}

async function failure(env: Record<string, string | undefined>): Promise<AgentError> {
  const err = await run(env).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

/** The platform's TCB with the SNP firmware one level older: what a stale VCEK certifies. */
function olderTcb(): bigint {
  const { amd } = world.sb;
  const parts = decomposeTcb(amd.tcb, amd.product);
  return composeTcb({ ...parts, snpSpl: parts.snpSpl - 1 }, amd.product);
}

describe.each(['sev-guest-socket', 'tsm-socket'] as const)('%s', (backend) => {
  it('gives a report and the host’s certificate table; the key is released and written', async () => {
    const socket = await guestSocket();
    try {
      const attests = world.sb.maa.stats.attests();
      const { result, out } = await run({
        SECUREKEY_EVIDENCE: backend,
        SECUREKEY_DEVICE_SOCKET: socket.path,
      });
      expect(result.chainOrigin).toBe('certificate-table');
      expect(result.evidenceSource).toContain(backend === 'tsm-socket' ? 'configfs-tsm' : '/dev/sev-guest');
      expect(result.evidenceSource).toContain(socket.path);
      expect(result.hostData).toBe(ADMITTED_DIGEST);
      expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
      expect(world.sb.maa.stats.attests() - attests).toBe(1);
      expect(socket.guest.channel.stats.reports).toBe(1);
      if (backend === 'tsm-socket') expect(socket.guest.tsm?.entryNames).toEqual([]); // the entry was removed
    } finally {
      await socket.close();
    }
  }, 60_000);

  it('a stale VCEK in the certificate table → THIM is asked for the reported TCB', async () => {
    const socket = await guestSocket({ certTable: world.sb.amd.certTable(olderTcb()) });
    try {
      const explicit = world.sb.thim.service.counters.thimExplicit;
      const { result } = await run({ SECUREKEY_EVIDENCE: backend, SECUREKEY_DEVICE_SOCKET: socket.path });
      expect(result.chainOrigin).toBe('thim-for-reported-tcb');
      expect(world.sb.thim.service.counters.thimExplicit - explicit).toBe(1);
    } finally {
      await socket.close();
    }
  }, 60_000);

  it('a host without certificates → THIM’s cached certification', async () => {
    const socket = await guestSocket({ certTable: null });
    try {
      const { result } = await run({ SECUREKEY_EVIDENCE: backend, SECUREKEY_DEVICE_SOCKET: socket.path });
      expect(result.chainOrigin).toBe('thim');
    } finally {
      await socket.close();
    }
  }, 60_000);
});

describe('VCEK chain sources', () => {
  it('THIM serving a stale VCEK (after a firmware update) → refetched for the reported TCB', async () => {
    const thim = world.sb.thim.service;
    const served = thim.servedTcb;
    thim.servedTcb = olderTcb();
    try {
      const before = { ...thim.counters };
      const { result } = await run({ SECUREKEY_VCEK_SOURCE: 'thim' });
      expect(result.chainOrigin).toBe('thim-for-reported-tcb');
      expect(thim.counters.thim - before.thim).toBe(1);
      expect(thim.counters.thimExplicit - before.thimExplicit).toBe(1);
      expect(result.timings.map((t) => t.step)).toContain('certificates-prefetch');
    } finally {
      thim.servedTcb = served;
    }
  }, 60_000);

  it('evidence only, with a stale certificate table → tcb-mismatch before any attestation call', async () => {
    const socket = await guestSocket({ certTable: world.sb.amd.certTable(olderTcb()) });
    try {
      const attests = world.sb.maa.stats.attests();
      const err = await failure({
        SECUREKEY_EVIDENCE: 'sev-guest-socket',
        SECUREKEY_DEVICE_SOCKET: socket.path,
        SECUREKEY_VCEK_SOURCE: 'evidence',
      });
      expect(err).toMatchObject({ kind: 'tcb-mismatch', step: 'certificates' });
      expect(err.message).toContain(`REPORTED_TCB ${world.sb.amd.tcb.toString(16).padStart(16, '0')}`);
      expect(world.sb.maa.stats.attests()).toBe(attests);
    } finally {
      await socket.close();
    }
  }, 60_000);
});

describe('attestation', () => {
  it('evidence from a platform whose root the attestation service does not trust → attestation-refused, once', async () => {
    // Genoa's fixture root keys under Milan's names: a Milan root no one trusts.
    const foreign = new FakeAmd({ product: 'Milan', keys: fixtureRootKeys('Genoa') });
    const signer = new ReportSigner(foreign, { hostData: Buffer.from(ADMITTED_DIGEST, 'hex') });
    const socket = await guestSocket({ signer });
    try {
      const attests = world.sb.maa.stats.attests();
      const err = await failure({
        SECUREKEY_EVIDENCE: 'sev-guest-socket',
        SECUREKEY_DEVICE_SOCKET: socket.path,
      });
      expect(err).toMatchObject({ kind: 'attestation-refused', step: 'attestation' });
      expect(err.endpoint).toBe(`${world.sb.maa.url}/attest/SevSnpVm`);
      expect(err.message).toContain('InvalidQuote');
      expect(err.hint).toContain('not genuine');
      expect(world.sb.maa.stats.attests() - attests).toBe(1); // a refusal is not retried
    } finally {
      await socket.close();
    }
  }, 120_000);
});

describe('device failures are named', () => {
  it('a guest without /dev/sev-guest → device-unavailable', async () => {
    const socket = await guestSocket({ interfaces: ['tsm'] });
    try {
      const err = await failure({
        SECUREKEY_EVIDENCE: 'sev-guest-socket',
        SECUREKEY_DEVICE_SOCKET: socket.path,
      });
      expect(err).toMatchObject({ kind: 'device-unavailable', step: 'evidence' });
      expect(err.endpoint).toContain('/dev/sev-guest');
    } finally {
      await socket.close();
    }
  }, 60_000);

  it('a firmware error → evidence-failed (EIO); the wiped VMPCK then → ENOTTY with its cause', async () => {
    const socket = await guestSocket();
    try {
      socket.guest.channel.injectFirmwareError(0x17);
      const env = { SECUREKEY_EVIDENCE: 'sev-guest-socket', SECUREKEY_DEVICE_SOCKET: socket.path };
      const first = await failure(env);
      expect(first).toMatchObject({ kind: 'evidence-failed', step: 'evidence' });
      expect(first.message).toContain('EIO');
      expect(first.message).toContain('firmware error 0x17');
      const second = await failure(env);
      expect(second.message).toContain('ENOTTY');
      expect(second.hint).toContain('VMPCK');
    } finally {
      await socket.close();
    }
  }, 60_000);

  it('no device socket → device-unavailable naming the socket', async () => {
    const missing = path.join(world.dir, 'no-such.sock');
    const err = await failure({ SECUREKEY_EVIDENCE: 'tsm-socket', SECUREKEY_DEVICE_SOCKET: missing });
    expect(err).toMatchObject({ kind: 'device-unavailable', step: 'evidence', endpoint: missing });
  });

  it('the real /dev/sev-guest: absent, or present but needing a native helper', async () => {
    const absent = path.join(world.dir, 'dev-sev-guest-absent');
    const missingHelper = path.join(world.dir, 'no-sev-report-helper');
    await expect(
      new SevGuestDeviceAttester({ device: absent, helper: missingHelper }).report(Buffer.alloc(64)),
    ).rejects.toMatchObject({
      kind: 'device-unavailable',
      message: `${absent} does not exist: this is not an SEV-SNP guest, or the device is not mounted into the container`,
    });
    const present = path.join(world.dir, 'dev-sev-guest-present');
    writeFileSync(present, '');
    await expect(
      new SevGuestDeviceAttester({ device: present, helper: missingHelper }).report(Buffer.alloc(64)),
    ).rejects.toMatchObject({
      kind: 'device-unavailable',
      message: expect.stringContaining('needs a native helper, which is not available here'),
      hint: expect.stringContaining('SECUREKEY_EVIDENCE=tsm'),
    });
  });

  it('configfs-tsm where there is none → device-unavailable naming the report directory', async () => {
    const root = path.join(world.dir, 'sys/kernel/config/tsm/report');
    const fs = await import('node:fs/promises');
    const attester = new TsmAttester({ name: 'tsm', fs, root, via: '' });
    await expect(attester.report(Buffer.alloc(64))).rejects.toMatchObject({
      kind: 'device-unavailable',
      message: `${root} does not exist`,
    });
  });
});
