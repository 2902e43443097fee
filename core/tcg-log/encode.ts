/**
 * Writing a crypto-agile event log (the inverse of parse.ts): what the simulated vTPM's firmware
 * keeps while it extends the same digests into the TPM.
 */
import crypto from 'node:crypto';
import { EV, SPEC_ID_EVENT03, STARTUP_LOCALITY, TCG_ALG, type TcgHash } from './constants.ts';

export interface EventToLog {
  readonly pcr: number;
  readonly type: number;
  readonly data: Uint8Array;
  /**
   * What is hashed for the digest when it is not the event data (an image's Authenticode hash is over
   * the image, not over its UEFI_IMAGE_LOAD_EVENT). Ignored for EV_NO_ACTION, whose digests are zero.
   */
  readonly measured?: Uint8Array;
  /** Digests to write as they are (a tampered log in tests); the rest are computed. */
  readonly digests?: Partial<Record<TcgHash, Uint8Array>>;
}

/** TCG_EfiSpecIDEvent for `banks` (PC Client platform, spec 2.0 errata 0, UINTN of 8 bytes). */
export function specIdEventData(banks: readonly TcgHash[]): Buffer {
  const head = Buffer.alloc(16 + 4 + 4 + 4);
  head.write(SPEC_ID_EVENT03, 0, 'latin1');
  head.writeUInt32LE(0, 16); // platformClass: client
  head.writeUInt8(0, 20); // specVersionMinor
  head.writeUInt8(2, 21); // specVersionMajor
  head.writeUInt8(0, 22); // specErrata
  head.writeUInt8(2, 23); // uintnSize: 2 = UINT64
  head.writeUInt32LE(banks.length, 24);
  const algs = banks.map((h) => {
    const a = Buffer.alloc(4);
    a.writeUInt16LE(TCG_ALG[h].id, 0);
    a.writeUInt16LE(TCG_ALG[h].size, 2);
    return a;
  });
  return Buffer.concat([head, ...algs, Buffer.from([0])]);
}

/** StartupLocality event data: the TPM was started from `locality`. */
export function startupLocalityData(locality: number): Buffer {
  return Buffer.concat([Buffer.from(STARTUP_LOCALITY, 'latin1'), Buffer.from([locality])]);
}

/** The digest each bank gets for an event. */
export function eventDigest(e: EventToLog, hash: TcgHash): Buffer {
  const given = e.digests?.[hash];
  if (given !== undefined) return Buffer.from(given);
  if (e.type === EV.NO_ACTION) return Buffer.alloc(TCG_ALG[hash].size);
  return crypto
    .createHash(hash)
    .update(e.measured ?? e.data)
    .digest();
}

export function encodeTcgLog(banks: readonly TcgHash[], events: readonly EventToLog[]): Buffer {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const spec = specIdEventData(banks);
  const parts: Buffer[] = [u32(0), u32(EV.NO_ACTION), Buffer.alloc(20), u32(spec.length), spec];
  for (const e of events) {
    parts.push(u32(e.pcr), u32(e.type), u32(banks.length));
    for (const h of banks) {
      const id = Buffer.alloc(2);
      id.writeUInt16LE(TCG_ALG[h].id);
      parts.push(id, eventDigest(e, h));
    }
    parts.push(u32(e.data.length), Buffer.from(e.data));
  }
  return Buffer.concat(parts);
}
