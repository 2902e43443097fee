/**
 * core/tcg-log: two real crypto-agile logs from GCE Linux VMs (google/go-eventlog test data) replayed
 * and compared with the PCR values published beside them; the encoder's logs read back; and what
 * the parser refuses.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectKind } from '../../test/support/snp.ts';
import { testdata } from '../../test/support/paths.ts';
import {
  bootState,
  EFI_GLOBAL_VARIABLE,
  EFI_IMAGE_SECURITY_DATABASE,
  encodeTcgLog,
  EV,
  guidBytes,
  guidText,
  parseTcgLog,
  replayTcgLog,
  startupLocalityData,
  TcgLogError,
  uefiVariable,
  uefiVariableData,
  type EventToLog,
  type TcgHash,
} from './index.ts';

const published = JSON.parse(readFileSync(testdata('go-eventlog/pcrs.json'), 'utf8')) as Record<
  string,
  Record<'sha1' | 'sha256', Record<string, string>>
>;
const realLog = (file: string) => readFileSync(testdata('go-eventlog', file));

describe('real logs (go-eventlog: RHEL 8 with secure boot, Ubuntu 21.04 without)', () => {
  for (const file of ['rhel8-uefi.bin', 'ubuntu-2104-no-secure-boot.bin']) {
    it(`${file}: the sha1 and sha256 banks replay to the published PCR values`, () => {
      const log = parseTcgLog(realLog(file));
      expect(log.specId.algorithms.map((a) => a.hash)).toEqual(['sha1', 'sha256', 'sha384']);
      expect(log.specId.specVersion).toEqual({ major: 2, minor: 0, errata: 0 });
      for (const hash of ['sha1', 'sha256'] as const) {
        const replayed = replayTcgLog(log, hash);
        const want = published[file]![hash];
        expect(Object.keys(want).length).toBe(11);
        for (const [pcr, value] of Object.entries(want)) {
          expect(replayed[Number(pcr)]!.toString('hex'), `${hash} PCR ${pcr}`).toBe(value);
        }
      }
      // No published sha384 values; the bank still replays with its 48-byte digests.
      expect(replayTcgLog(log, 'sha384')[7]).toHaveLength(48);
    });
  }

  it('reads secure boot on (RHEL 8) and off (Ubuntu 21.04) from the measured SecureBoot variable', () => {
    const rhel = bootState(parseTcgLog(realLog('rhel8-uefi.bin')), 'sha256');
    expect(rhel.secureBoot).toBe(true);
    expect(Object.keys(rhel.variables).sort()).toEqual(['KEK', 'PK', 'SecureBoot', 'db', 'dbx']);
    expect([...rhel.separators].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const ubuntu = bootState(parseTcgLog(realLog('ubuntu-2104-no-secure-boot.bin')), 'sha256');
    expect(ubuntu.secureBoot).toBe(false);
    expect(ubuntu.variables.SecureBoot).toEqual(Buffer.from([0]));
    expect(ubuntu.variables.dbx!.length).toBeGreaterThan(10_000);
  });

  it('decodes UEFI_VARIABLE_DATA: GUID, UTF-16 name, data', () => {
    const log = parseTcgLog(realLog('rhel8-uefi.bin'));
    const first = log.events.find((e) => e.type === EV.EFI_VARIABLE_DRIVER_CONFIG)!;
    expect(first.pcr).toBe(7);
    expect(uefiVariable(first)).toEqual({
      guid: EFI_GLOBAL_VARIABLE,
      name: 'SecureBoot',
      data: Buffer.from([1]),
    });
  });
});

const sha = (h: TcgHash, ...parts: Uint8Array[]) => {
  const x = crypto.createHash(h);
  for (const p of parts) x.update(p);
  return x.digest();
};

function simulatedEvents(secureBootValue: number): EventToLog[] {
  return [
    { pcr: 0, type: EV.NO_ACTION, data: startupLocalityData(3) },
    { pcr: 0, type: EV.S_CRTM_VERSION, data: Buffer.from('1.0\0', 'utf16le') },
    {
      pcr: 7,
      type: EV.EFI_VARIABLE_DRIVER_CONFIG,
      data: uefiVariableData({
        guid: EFI_GLOBAL_VARIABLE,
        name: 'SecureBoot',
        data: Buffer.from([secureBootValue]),
      }),
    },
    {
      pcr: 7,
      type: EV.EFI_VARIABLE_DRIVER_CONFIG,
      data: uefiVariableData({ guid: EFI_IMAGE_SECURITY_DATABASE, name: 'db', data: Buffer.from('certs') }),
    },
    { pcr: 7, type: EV.SEPARATOR, data: Buffer.alloc(4) },
    {
      pcr: 4,
      type: EV.EFI_BOOT_SERVICES_APPLICATION,
      data: Buffer.from('image-load-event'),
      measured: Buffer.from('the image'),
    },
  ];
}

describe('the encoder, read back', () => {
  it('writes what the parser reads: banks, events, digests, data', () => {
    const events = simulatedEvents(1);
    const log = parseTcgLog(encodeTcgLog(['sha256', 'sha384'], events));
    expect(log.specId.algorithms.map((a) => [a.hash, a.size])).toEqual([
      ['sha256', 32],
      ['sha384', 48],
    ]);
    expect(log.events.map((e) => [e.pcr, e.type, e.data])).toEqual(
      events.map((e) => [e.pcr, e.type, Buffer.from(e.data)]),
    );
    expect(log.events[5]!.digests.get('sha384')).toEqual(sha('sha384', Buffer.from('the image')));
    expect(log.events[0]!.digests.get('sha256')).toEqual(Buffer.alloc(32));
  });

  it('replays by extending in order, skipping EV_NO_ACTION, PCR 0 starting at the StartupLocality', () => {
    const events = simulatedEvents(1);
    const replayed = replayTcgLog(parseTcgLog(encodeTcgLog(['sha256'], events)), 'sha256');
    const pcr0Start = Buffer.alloc(32);
    pcr0Start[31] = 3;
    expect(replayed[0]).toEqual(sha('sha256', pcr0Start, sha('sha256', events[1]!.data)));
    let pcr7 = Buffer.alloc(32);
    for (const e of events.filter((x) => x.pcr === 7)) pcr7 = sha('sha256', pcr7, sha('sha256', e.data));
    expect(replayed[7]).toEqual(pcr7);
    expect(replayed[4]).toEqual(sha('sha256', Buffer.alloc(32), sha('sha256', Buffer.from('the image'))));
    expect(replayed[1]).toEqual(Buffer.alloc(32));
  });

  it('reads secure boot off when SecureBoot is 0, and only variables before the PCR 7 separator', () => {
    expect(bootState(parseTcgLog(encodeTcgLog(['sha256'], simulatedEvents(0))), 'sha256').secureBoot).toBe(
      false,
    );
    const late = simulatedEvents(1);
    late.splice(2, 1);
    late.push(simulatedEvents(1)[2]!); // SecureBoot=1 measured after the separator: not firmware's
    const state = bootState(parseTcgLog(encodeTcgLog(['sha256'], late)), 'sha256');
    expect(state.secureBoot).toBe(false);
    expect(Object.keys(state.variables)).toEqual(['db']);
  });

  it('GUIDs: text ↔ mixed-endian bytes', () => {
    expect(guidBytes(EFI_GLOBAL_VARIABLE).toString('hex')).toBe('61dfe48bca93d211aa0d00e098032b8c');
    expect(guidText(guidBytes(EFI_IMAGE_SECURITY_DATABASE))).toBe(EFI_IMAGE_SECURITY_DATABASE);
  });
});

describe('refusals', () => {
  const good = () => encodeTcgLog(['sha256'], simulatedEvents(1));

  it('a truncated log, naming the event and offset', () => {
    const log = good();
    const err = expectKind(() => parseTcgLog(log.subarray(0, log.length - 3)), TcgLogError, 'truncated');
    expect(err.message).toMatch(/^event 6: the event data needs 16 bytes at offset \d+, 13 left$/);
    expect(err.offset).toBe(log.length - 16);
    expectKind(() => parseTcgLog(log.subarray(0, 10)), TcgLogError, 'truncated');
  });

  it('an oversized log, too many events, an oversized event', () => {
    const log = good();
    expectKind(() => parseTcgLog(log, { maxBytes: log.length - 1 }), TcgLogError, 'too-large');
    expect(expectKind(() => parseTcgLog(log, { maxEvents: 5 }), TcgLogError, 'too-large').message).toBe(
      'more than 5 events',
    );
    const big = encodeTcgLog(['sha256'], [{ pcr: 4, type: EV.IPL, data: Buffer.alloc(300 * 1024) }]);
    const err = expectKind(() => parseTcgLog(big), TcgLogError, 'too-large');
    expect(err.message).toBe('event 1 at offset 65: 307200 bytes of event data, at most 262144');
  });

  it('a log that is not crypto-agile, or whose Spec ID event is wrong', () => {
    expectKind(() => parseTcgLog(Buffer.alloc(0)), TcgLogError, 'bad-spec-id');
    const wrongSignature = good();
    wrongSignature.write('Spec ID Event02', 32, 'latin1');
    expectKind(() => parseTcgLog(wrongSignature), TcgLogError, 'bad-spec-id');
    const wrongSize = good();
    wrongSize.writeUInt16LE(20, 32 + 30); // sha256 declared with 20-byte digests
    expect(expectKind(() => parseTcgLog(wrongSize), TcgLogError, 'bad-spec-id').message).toBe(
      'the Spec ID event gives sha256 a digest size of 20',
    );
  });

  it('an event whose digest count or algorithm is not the Spec ID event’s', () => {
    const log = good();
    const first = 32 + 33; // after the TCG_PCR_EVENT and its 33-byte Spec ID data
    log.writeUInt32LE(2, first + 8);
    expect(expectKind(() => parseTcgLog(log), TcgLogError, 'digest-mismatch').message).toBe(
      `event 1 at offset ${first}: 2 digests, the Spec ID event declares 1`,
    );
    const otherAlg = good();
    otherAlg.writeUInt16LE(0x000c, first + 12);
    expectKind(() => parseTcgLog(otherAlg), TcgLogError, 'digest-mismatch');
  });

  it('a SecureBoot variable whose data no longer hashes to its digest (the data was altered)', () => {
    const events = simulatedEvents(1);
    const tampered = encodeTcgLog(
      ['sha256'],
      [
        ...events.slice(0, 2),
        {
          ...events[2]!,
          digests: { sha256: sha('sha256', events[2]!.data) },
          data: simulatedEvents(0)[2]!.data,
        },
        ...events.slice(3),
      ],
    );
    const log = parseTcgLog(tampered);
    expect(expectKind(() => bootState(log, 'sha256'), TcgLogError, 'bad-event-data').message).toMatch(
      /^event 3 at offset \d+: its sha256 digest is not the hash of its data$/,
    );
  });

  it('a bank the log does not carry, a StartupLocality after PCR 0 was extended', () => {
    expectKind(() => replayTcgLog(parseTcgLog(good()), 'sha1'), TcgLogError, 'bad-argument');
    const events = simulatedEvents(1);
    const late = parseTcgLog(encodeTcgLog(['sha256'], [events[1]!, events[0]!]));
    expectKind(() => replayTcgLog(late, 'sha256'), TcgLogError, 'bad-event-data');
  });
});
