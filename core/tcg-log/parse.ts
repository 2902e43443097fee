/**
 * The crypto-agile TCG event log (PC Client Platform Firmware Profile §10.2), as Linux exposes it in
 * `binary_bios_measurements`: a TCG_PCR_EVENT in the SHA1 format whose EV_NO_ACTION data is the
 * TCG_EfiSpecIDEvent (`Spec ID Event03`, the banks and their digest sizes), then TCG_PCR_EVENT2
 * entries — pcrIndex, eventType, TPML_DIGEST_VALUES (count, then algId + digest per bank), eventSize,
 * event. All little-endian. Every length is checked against what is left and against the limits.
 */
import {
  hashOfAlgId,
  PCR_COUNT,
  SPEC_ID_EVENT03,
  TCG_ALG,
  TCG_LOG_LIMITS,
  type TcgHash,
  type TcgLogLimits,
} from './constants.ts';
import { TcgLogError } from './errors.ts';

export interface SpecIdEvent {
  readonly platformClass: number;
  readonly specVersion: { readonly major: number; readonly minor: number; readonly errata: number };
  readonly uintnSize: number;
  /** The banks every event carries, in the log's order, with the digest size the log declares. */
  readonly algorithms: ReadonlyArray<{
    readonly algId: number;
    readonly hash: TcgHash | undefined;
    readonly size: number;
  }>;
  readonly vendorInfo: Buffer;
}

export interface TcgEvent {
  /** 0 is the Spec ID event; the TCG_PCR_EVENT2 entries follow from 1. */
  readonly number: number;
  /** Byte offset of the event in the log. */
  readonly offset: number;
  readonly pcr: number;
  readonly type: number;
  /** The digest of each bank the event carries (banks the registry does not know are kept by algId). */
  readonly digests: ReadonlyMap<TcgHash | number, Buffer>;
  readonly data: Buffer;
}

export interface TcgLog {
  readonly specId: SpecIdEvent;
  /** The events after the Spec ID event. */
  readonly events: readonly TcgEvent[];
}

class LeReader {
  pos = 0;
  readonly b: Buffer;
  readonly event: () => number;
  constructor(b: Buffer, event: () => number) {
    this.b = b;
    this.event = event;
  }

  need(n: number, what: string): void {
    if (n > this.b.length - this.pos) {
      throw new TcgLogError(
        'truncated',
        `event ${this.event()}: ${what} needs ${n} bytes at offset ${this.pos}, ${this.b.length - this.pos} left`,
        { offset: this.pos },
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b.readUInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.b.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = Buffer.from(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }
}

export function parseTcgLog(log: Uint8Array, limits: Partial<TcgLogLimits> = {}): TcgLog {
  const max = { ...TCG_LOG_LIMITS, ...limits };
  const bytes = Buffer.from(log.buffer, log.byteOffset, log.byteLength);
  if (bytes.length > max.maxBytes) {
    throw new TcgLogError('too-large', `the log is ${bytes.length} bytes, at most ${max.maxBytes}`, {
      offset: 0,
    });
  }
  let number = 0;
  const r = new LeReader(bytes, () => number);
  const eventData = (start: number): Buffer => {
    const size = r.u32('eventSize');
    if (size > max.maxEventBytes) {
      throw new TcgLogError(
        'too-large',
        `event ${number} at offset ${start}: ${size} bytes of event data, at most ${max.maxEventBytes}`,
        { offset: start },
      );
    }
    return r.bytes(size, 'the event data');
  };

  // TCG_PCR_EVENT: pcrIndex 0, EV_NO_ACTION, a zero SHA1 digest, the Spec ID event.
  if (bytes.length === 0) throw new TcgLogError('bad-spec-id', 'the log is empty', { offset: 0 });
  const pcr0 = r.u32('pcrIndex');
  const type0 = r.u32('eventType');
  r.bytes(20, 'the SHA1 digest');
  const specData = eventData(0);
  if (pcr0 !== 0 || type0 !== 0x3 || specData.subarray(0, 16).toString('latin1') !== SPEC_ID_EVENT03) {
    throw new TcgLogError(
      'bad-spec-id',
      'the first event is not the EV_NO_ACTION `Spec ID Event03` of a crypto-agile log',
      { offset: 0, hint: 'a TPM 1.2 (SHA1-only) log is not supported' },
    );
  }
  const specId = parseSpecId(specData);

  const events: TcgEvent[] = [];
  while (r.pos < bytes.length) {
    number++;
    if (number > max.maxEvents) {
      throw new TcgLogError('too-large', `more than ${max.maxEvents} events`, { offset: r.pos });
    }
    const start = r.pos;
    const pcr = r.u32('pcrIndex');
    if (pcr >= PCR_COUNT) {
      throw new TcgLogError(
        'bad-event-data',
        `event ${number} at offset ${start}: PCR ${pcr} does not exist`,
        {
          offset: start,
        },
      );
    }
    const type = r.u32('eventType');
    const count = r.u32('the digest count');
    if (count !== specId.algorithms.length) {
      throw new TcgLogError(
        'digest-mismatch',
        `event ${number} at offset ${start}: ${count} digests, the Spec ID event declares ${specId.algorithms.length}`,
        { offset: start },
      );
    }
    const digests = new Map<TcgHash | number, Buffer>();
    for (let i = 0; i < count; i++) {
      const algId = r.u16('a digest algorithm');
      const alg = specId.algorithms.find((a) => a.algId === algId);
      if (alg === undefined || digests.has(alg.hash ?? algId)) {
        throw new TcgLogError(
          'digest-mismatch',
          `event ${number} at offset ${start}: algorithm 0x${algId.toString(16).padStart(4, '0')} is ${alg ? 'repeated' : 'not declared by the Spec ID event'}`,
          { offset: start },
        );
      }
      digests.set(alg.hash ?? algId, r.bytes(alg.size, 'a digest'));
    }
    events.push({ number, offset: start, pcr, type, digests, data: eventData(start) });
  }
  return { specId, events };
}

function parseSpecId(data: Buffer): SpecIdEvent {
  const r = new LeReader(data, () => 0);
  const fail = (problem: string) =>
    new TcgLogError('bad-spec-id', `the Spec ID event ${problem}`, { offset: 32 + r.pos });
  r.bytes(16, 'the signature');
  const platformClass = r.u32('platformClass');
  const minor = r.u8('specVersionMinor');
  const major = r.u8('specVersionMajor');
  const errata = r.u8('specErrata');
  const uintnSize = r.u8('uintnSize');
  if (major !== 2) throw fail(`is for spec version ${major}.${minor}, not 2.x`);
  const n = r.u32('numberOfAlgorithms');
  if (n === 0 || n > 8) throw fail(`lists ${n} algorithms`);
  const algorithms: Array<SpecIdEvent['algorithms'][number]> = [];
  for (let i = 0; i < n; i++) {
    const algId = r.u16('algorithmId');
    const size = r.u16('digestSize');
    const hash = hashOfAlgId(algId);
    if (algorithms.some((a) => a.algId === algId))
      throw fail(`lists algorithm 0x${algId.toString(16)} twice`);
    if (size === 0 || size > 64)
      throw fail(`gives algorithm 0x${algId.toString(16)} a digest size of ${size}`);
    if (hash !== undefined && TCG_ALG[hash].size !== size) {
      throw fail(`gives ${hash} a digest size of ${size}`);
    }
    algorithms.push({ algId, hash, size });
  }
  const vendorInfoSize = r.u8('vendorInfoSize');
  const vendorInfo = r.bytes(vendorInfoSize, 'vendorInfo');
  if (r.pos !== data.length) throw fail(`has ${data.length - r.pos} bytes after vendorInfo`);
  return { platformClass, specVersion: { major, minor, errata }, uintnSize, algorithms, vendorInfo };
}
