/**
 * configfs-tsm as an attestation client uses it (go-configfs-tsm `report.Get`, guest-components
 * `tsm_report`), against the fake in process and over the device socket.
 */
import { X509Certificate } from 'node:crypto';
import fsp from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findCertTableEntry,
  parseCertTable,
  parseReport,
  verifyAttestation,
  verifyReportSignature,
} from '../../core/snp/index.ts';
import { FakeAmd, ReportSigner, type LaunchConfig } from '../amd/index.ts';
import {
  simulatedGuest,
  TSM_REPORT_ROOT,
  type SimulatedGuest,
  type SimulatedGuestOptions,
  type TsmFilesystem,
} from './index.ts';
import { TRANSPORTS, type GuestTransport } from '../../test/support/sim/sev-transports.ts';

const amd = new FakeAmd({ product: 'Genoa' });
const hostData = Buffer.alloc(32, 0x5a);
const nonce = (fill: number) => Buffer.alloc(64, fill);
const entry = `${TSM_REPORT_ROOT}/entry0`;
const attr = (name: string) => `${entry}/${name}`;
const now = new Date();

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

it('node:fs/promises is a TsmFilesystem, so the agent can be handed the real configfs', () => {
  const real: TsmFilesystem = fsp;
  expect(typeof real.mkdir).toBe('function');
});

for (const [name, connect] of TRANSPORTS) {
  describe(`configfs-tsm report, ${name}`, () => {
    let transport: GuestTransport | undefined;
    let guest: SimulatedGuest;
    afterEach(async () => {
      await transport?.close();
      transport = undefined;
    });
    const start = async (launch: LaunchConfig = {}, options: Partial<SimulatedGuestOptions> = {}) => {
      guest = simulatedGuest({ signer: new ReportSigner(amd, { hostData, ...launch }), ...options });
      transport = await connect(guest);
      return transport.tsm;
    };

    it('full lifecycle: mkdir, provider, inblob, outblob + auxblob, generation, rmdir', async () => {
      const fs = await start();
      expect(await fs.readdir(TSM_REPORT_ROOT)).toEqual([]);
      await fs.mkdir(entry);
      expect(await fs.readdir(TSM_REPORT_ROOT)).toEqual(['entry0']);
      expect(await fs.readdir(entry)).toEqual([
        'generation',
        'provider',
        'privlevel',
        'privlevel_floor',
        'inblob',
        'outblob',
        'auxblob',
      ]);
      expect((await fs.readFile(attr('provider'))).toString()).toBe('sev_guest\n');
      expect((await fs.readFile(attr('privlevel_floor'))).toString()).toBe('0\n');
      expect((await fs.readFile(attr('generation'))).toString()).toBe('0\n');

      await fs.writeFile(attr('inblob'), nonce(1));
      expect((await fs.readFile(attr('generation'))).toString()).toBe('1\n');
      const outblob = await fs.readFile(attr('outblob'));
      const auxblob = await fs.readFile(attr('auxblob'));
      expect((await fs.readFile(attr('generation'))).toString()).toBe('1\n');
      expect(outblob).toHaveLength(0x4a0);

      const report = parseReport(outblob);
      expect(report.reportData).toEqual(nonce(1));
      expect(report.hostData).toEqual(hostData);
      const table = parseCertTable(auxblob);
      const vcek = new X509Certificate(findCertTableEntry(table, 'vcek')!);
      verifyReportSignature(outblob, vcek);
      const verified = verifyAttestation(
        {
          report: outblob,
          vcek,
          ask: findCertTableEntry(table, 'ask')!,
          ark: findCertTableEntry(table, 'ark')!,
        },
        { now, trustedArk: amd.ark },
      );
      expect(verified.product).toBe('Genoa');

      // Reading again within a generation returns the same report; a new inblob makes a new one.
      expect(await fs.readFile(attr('outblob'))).toEqual(outblob);
      await fs.writeFile(attr('inblob'), nonce(2));
      expect(parseReport(await fs.readFile(attr('outblob'))).reportData).toEqual(nonce(2));
      expect(guest.tsm!.stats.reportsGenerated).toBe(2);

      await fs.rmdir(entry);
      expect(await fs.readdir(TSM_REPORT_ROOT)).toEqual([]);
      expect(await code(fs.readFile(attr('outblob')))).toBe('ENOENT');
    });

    it('detects a concurrent writer: generation moves between our write and our read', async () => {
      const fs = await start();
      await fs.mkdir(entry);
      // Writer A.
      await fs.writeFile(attr('inblob'), nonce(0xa));
      const expected = 1;
      // Writer B slips in before A reads.
      await fs.writeFile(attr('inblob'), nonce(0xb));
      const outblob = await fs.readFile(attr('outblob'));
      const generation = Number((await fs.readFile(attr('generation'))).toString());
      expect(generation).not.toBe(expected);
      expect(generation).toBe(2);
      // What A got is B's report: exactly why A must check.
      expect(parseReport(outblob).reportData).toEqual(nonce(0xb));
    });

    it('privlevel: written as decimal text, bounded by privlevel_floor and 3, reported as VMPL', async () => {
      const fs = await start({ guestVmpl: 1 });
      await fs.mkdir(entry);
      expect((await fs.readFile(attr('privlevel_floor'))).toString()).toBe('1\n');
      await fs.writeFile(attr('inblob'), nonce(3));
      // privlevel defaults to 0, below this guest's VMPL: the firmware refuses → EINVAL.
      expect(await code(fs.readFile(attr('outblob')))).toBe('EINVAL');
      expect(await code(fs.writeFile(attr('privlevel'), '0'))).toBe('EINVAL');
      expect(await code(fs.writeFile(attr('privlevel'), '4'))).toBe('EINVAL');
      expect(await code(fs.writeFile(attr('privlevel'), 'two'))).toBe('EINVAL');
      await fs.writeFile(attr('privlevel'), '2\n');
      expect((await fs.readFile(attr('generation'))).toString()).toBe('2\n');
      expect(parseReport(await fs.readFile(attr('outblob'))).vmpl).toBe(2);
    });

    it('errors as errno codes', async () => {
      const fs = await start();
      expect(await code(fs.mkdir(`${TSM_REPORT_ROOT}/missing/deeper`))).toBe('ENOENT');
      await fs.mkdir(entry);
      expect(await code(fs.mkdir(entry))).toBe('EEXIST');
      expect(await code(fs.readFile(attr('outblob')))).toBe('EINVAL'); // no inblob yet
      expect(await code(fs.writeFile(attr('inblob'), Buffer.alloc(65)))).toBe('EFBIG');
      await fs.writeFile(attr('inblob'), Buffer.alloc(32));
      expect(await code(fs.readFile(attr('outblob')))).toBe('EINVAL'); // sev_guest needs 64 bytes
      expect(await code(fs.readFile(attr('inblob')))).toBe('EACCES');
      expect(await code(fs.readFile(attr('privlevel')))).toBe('EACCES');
      expect(await code(fs.writeFile(attr('outblob'), 'x'))).toBe('EACCES');
      expect(await code(fs.writeFile(attr('generation'), '0'))).toBe('EACCES');
      expect(await code(fs.readFile(entry))).toBe('EISDIR');
      expect(await code(fs.readdir(attr('outblob')))).toBe('ENOTDIR');
      expect(await code(fs.rmdir(`${TSM_REPORT_ROOT}/nope`))).toBe('ENOENT');
      expect(await code(fs.rmdir(TSM_REPORT_ROOT))).toBe('EPERM');
    });

    it('throttling → EBUSY; a firmware error → EIO, then ENOTTY (VMPCK wiped)', async () => {
      let clock = 0;
      const fs = await start({}, { throttle: { limit: 1, intervalMs: 60_000 }, now: () => clock });
      await fs.mkdir(entry);
      await fs.writeFile(attr('inblob'), nonce(1));
      await fs.readFile(attr('outblob'));
      await fs.writeFile(attr('inblob'), nonce(2));
      expect(await code(fs.readFile(attr('outblob')))).toBe('EBUSY');
      clock = 60_000;
      expect(parseReport(await fs.readFile(attr('outblob'))).reportData).toEqual(nonce(2));
      clock = 120_000;
      guest.channel.injectFirmwareError(0x17);
      await fs.writeFile(attr('inblob'), nonce(3));
      expect(await code(fs.readFile(attr('outblob')))).toBe('EIO');
      expect(await code(fs.readFile(attr('outblob')))).toBe('ENOTTY');
    });

    it('no TSM provider registered → mkdir ENXIO', async () => {
      const fs = await start({}, { tsm: { provider: null } });
      expect(await code(fs.mkdir(entry))).toBe('ENXIO');
    });

    it('no host certificates → an empty auxblob', async () => {
      const fs = await start({}, { certTable: null });
      await fs.mkdir(entry);
      await fs.writeFile(attr('inblob'), nonce(9));
      expect(await fs.readFile(attr('auxblob'))).toHaveLength(0);
      expect(await fs.readFile(attr('outblob'))).toHaveLength(0x4a0);
    });
  });
}
