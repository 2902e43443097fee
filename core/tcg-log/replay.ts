/**
 * Replaying a bank of the log into PCR values, as a verifier compares them with a quote: each event's
 * digest extended into its PCR in log order (PCR ← H(PCR ‖ digest)), EV_NO_ACTION never extended.
 * PCR 0 starts at zero unless a StartupLocality event says the TPM was started from locality 3 or 4
 * (an H-CRTM), when its last byte is that locality (PC Client PFP §10.4.5.3).
 */
import crypto from 'node:crypto';
import { EV, PCR_COUNT, STARTUP_LOCALITY, TCG_ALG, type TcgHash } from './constants.ts';
import { TcgLogError } from './errors.ts';
import type { TcgLog } from './parse.ts';

/** The PCR values the log replays to in `hash`'s bank, for all 24 PCRs. */
export function replayTcgLog(log: TcgLog, hash: TcgHash): Buffer[] {
  if (!log.specId.algorithms.some((a) => a.hash === hash)) {
    throw new TcgLogError('bad-argument', `the log has no ${hash} bank`);
  }
  const size = TCG_ALG[hash].size;
  const pcrs = Array.from({ length: PCR_COUNT }, () => Buffer.alloc(size));
  let extended0 = false;
  for (const e of log.events) {
    if (e.type === EV.NO_ACTION) {
      const locality = startupLocality(e);
      if (locality !== undefined) {
        if (extended0) {
          throw new TcgLogError(
            'bad-event-data',
            `event ${e.number} at offset ${e.offset}: StartupLocality after PCR 0 was extended`,
            { offset: e.offset },
          );
        }
        pcrs[0]![size - 1] = locality;
      }
      continue;
    }
    if (e.pcr === 0) extended0 = true;
    const digest = e.digests.get(hash)!;
    pcrs[e.pcr] = crypto.createHash(hash).update(pcrs[e.pcr]!).update(digest).digest();
  }
  return pcrs;
}

/** The locality of a StartupLocality event, or undefined when `e` is another EV_NO_ACTION. */
function startupLocality(e: TcgLog['events'][number]): number | undefined {
  if (e.pcr !== 0 || e.data.subarray(0, 16).toString('latin1') !== STARTUP_LOCALITY) return undefined;
  if (e.data.length !== 17) {
    throw new TcgLogError(
      'bad-event-data',
      `event ${e.number} at offset ${e.offset}: a StartupLocality event has ${e.data.length} bytes, not 17`,
      { offset: e.offset },
    );
  }
  return e.data[16]!;
}
