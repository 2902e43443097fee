/** The simulated firmware's measurements: the log it publishes replays to what it extends, unless told to lie. */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bootState, parseTcgLog, replayTcgLog, TcgLogError } from '../../core/tcg-log/index.ts';
import { expectKind } from '../../test/support/snp.ts';
import { firmwareMeasurements } from './firmware-log.ts';

/** The PCRs the TPM holds after the extends. */
function extended(list: Array<{ pcr: number; digest: Buffer }>): Buffer[] {
  const pcrs = Array.from({ length: 24 }, () => Buffer.alloc(32));
  for (const { pcr, digest } of list)
    pcrs[pcr] = crypto.createHash('sha256').update(pcrs[pcr]!).update(digest).digest();
  return pcrs;
}

describe('simulated firmware measurements', () => {
  for (const secureBoot of [true, false]) {
    it(`secure boot ${secureBoot ? 'on' : 'off'}: the log replays to the extended PCRs and shows the state`, () => {
      const m = firmwareMeasurements({ secureBoot });
      const log = parseTcgLog(m.log);
      expect(replayTcgLog(log, 'sha256')).toEqual(extended(m.extends));
      const state = bootState(log, 'sha256');
      expect(state.secureBoot).toBe(secureBoot);
      expect(Object.keys(state.variables).sort()).toEqual(['KEK', 'PK', 'SecureBoot', 'db', 'dbx']);
      expect(m.extends.map((e) => e.pcr).filter((p) => p < 8).length).toBeGreaterThan(15);
    });
  }

  it('secure-boot-flipped: the log claims secure boot on, and replays to another PCR 7 than was extended', () => {
    const m = firmwareMeasurements({ secureBoot: false, tamper: 'secure-boot-flipped' });
    const log = parseTcgLog(m.log);
    expect(bootState(log, 'sha256').secureBoot).toBe(true);
    const replayed = replayTcgLog(log, 'sha256');
    const pcrs = extended(m.extends);
    expect(replayed[7]).not.toEqual(pcrs[7]);
    expect(replayed.filter((v, i) => i !== 7)).toEqual(pcrs.filter((v, i) => i !== 7));
  });

  it('data-altered: the log replays, but its SecureBoot event no longer hashes to its digest', () => {
    const m = firmwareMeasurements({ secureBoot: false, tamper: 'data-altered' });
    const log = parseTcgLog(m.log);
    expect(replayTcgLog(log, 'sha256')).toEqual(extended(m.extends));
    expectKind(() => bootState(log, 'sha256'), TcgLogError, 'bad-event-data');
  });
});
