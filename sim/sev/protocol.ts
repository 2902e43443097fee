/**
 * The device socket's wire format (specified in sim/sev/README.md): length-prefixed binary frames
 * that carry exactly the arguments of the device calls an SNP guest makes — an ioctl's request
 * number, argument struct and buffers, and the configfs-tsm file operations — and their results.
 * Little-endian throughout. Both the simulator's server and any client use these codecs.
 */
export const PROTOCOL_VERSION = 1;
/** Frames larger than this are a protocol error (a report with certificates is ~10 KiB). */
export const MAX_FRAME = 1 << 20;
const ABSENT = 0xffff_ffff;

export const OP = {
  ioctl: 0x01,
  devices: 0x02,
  mkdir: 0x10,
  rmdir: 0x11,
  readdir: 0x12,
  read: 0x13,
  write: 0x14,
} as const;
export type OpName = keyof typeof OP;

export const DEVICE = { 'sev-guest': 0, sev: 1 } as const;
export type DeviceName = keyof typeof DEVICE;

export type DeviceRequest =
  | {
      readonly op: 'ioctl';
      readonly id: number;
      readonly device: DeviceName;
      readonly request: number;
      readonly arg: Buffer;
      readonly requestBuffer: Buffer;
      readonly responseSize: number;
      readonly certsSize: number;
    }
  | { readonly op: 'devices'; readonly id: number }
  | { readonly op: 'mkdir' | 'rmdir' | 'readdir' | 'read'; readonly id: number; readonly path: string }
  | { readonly op: 'write'; readonly id: number; readonly path: string; readonly data: Buffer };

export type DeviceResponse =
  | {
      readonly op: 'ioctl';
      readonly id: number;
      readonly errno: number;
      readonly exitinfo2: bigint;
      readonly arg: Buffer;
      readonly requestBuffer: Buffer | undefined;
      readonly response: Buffer | undefined;
      readonly certs: Buffer | undefined;
    }
  | { readonly op: 'devices'; readonly id: number; readonly errno: number; readonly paths: string[] }
  | { readonly op: 'readdir'; readonly id: number; readonly errno: number; readonly names: string[] }
  | { readonly op: 'read'; readonly id: number; readonly errno: number; readonly data: Buffer | undefined }
  | { readonly op: 'mkdir' | 'rmdir' | 'write'; readonly id: number; readonly errno: number };

export class ProtocolError extends Error {}

class Writer {
  readonly #parts: Buffer[] = [];
  u8(v: number): this {
    this.#parts.push(Buffer.from([v & 0xff]));
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.#parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    this.#parts.push(b);
    return this;
  }
  blob(v: Uint8Array | undefined): this {
    if (v === undefined) return this.u32(ABSENT);
    this.u32(v.length);
    this.#parts.push(Buffer.from(v));
    return this;
  }
  string(v: string): this {
    return this.blob(Buffer.from(v, 'utf8'));
  }
  strings(v: readonly string[]): this {
    this.u32(v.length);
    for (const s of v) this.string(s);
    return this;
  }
  /** The frame: u32 body length, then the body. */
  frame(): Buffer {
    const body = Buffer.concat(this.#parts);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    return Buffer.concat([head, body]);
  }
}

class Reader {
  #at = 0;
  readonly #b: Buffer;
  constructor(b: Buffer) {
    this.#b = b;
  }
  #need(n: number): void {
    if (this.#at + n > this.#b.length)
      throw new ProtocolError(`frame ends inside a field at byte ${this.#at}`);
  }
  u8(): number {
    this.#need(1);
    return this.#b[this.#at++]!;
  }
  u32(): number {
    this.#need(4);
    const v = this.#b.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.#b.readBigUInt64LE(this.#at);
    this.#at += 8;
    return v;
  }
  blob(): Buffer | undefined {
    const n = this.u32();
    if (n === ABSENT) return undefined;
    this.#need(n);
    const v = Buffer.from(this.#b.subarray(this.#at, this.#at + n));
    this.#at += n;
    return v;
  }
  required(what: string): Buffer {
    const v = this.blob();
    if (v === undefined) throw new ProtocolError(`${what} is absent`);
    return v;
  }
  string(what: string): string {
    return this.required(what).toString('utf8');
  }
  strings(what: string): string[] {
    const n = this.u32();
    if (n > 4096) throw new ProtocolError(`${what}: ${n} strings`);
    return Array.from({ length: n }, () => this.string(what));
  }
  end(): void {
    if (this.#at !== this.#b.length)
      throw new ProtocolError(`${this.#b.length - this.#at} trailing bytes in frame`);
  }
}

function opName(code: number): OpName {
  const name = (Object.keys(OP) as OpName[]).find((k) => OP[k] === code);
  if (!name) throw new ProtocolError(`unknown operation 0x${code.toString(16)}`);
  return name;
}

function header(w: Writer, op: OpName, id: number): Writer {
  return w.u8(PROTOCOL_VERSION).u8(OP[op]).u32(id);
}

function readHeader(r: Reader): { op: OpName; id: number } {
  const version = r.u8();
  if (version !== PROTOCOL_VERSION)
    throw new ProtocolError(`protocol version ${version}, expected ${PROTOCOL_VERSION}`);
  const op = opName(r.u8());
  return { op, id: r.u32() };
}

export function encodeRequest(q: DeviceRequest): Buffer {
  const w = header(new Writer(), q.op, q.id);
  switch (q.op) {
    case 'ioctl':
      w.u8(DEVICE[q.device])
        .u32(q.request)
        .blob(q.arg)
        .blob(q.requestBuffer)
        .u32(q.responseSize)
        .u32(q.certsSize);
      break;
    case 'devices':
      break;
    case 'write':
      w.string(q.path).blob(q.data);
      break;
    default:
      w.string(q.path);
  }
  return w.frame();
}

export function decodeRequest(body: Buffer): DeviceRequest {
  const r = new Reader(body);
  const { op, id } = readHeader(r);
  let q: DeviceRequest;
  switch (op) {
    case 'ioctl': {
      const code = r.u8();
      const device = (Object.keys(DEVICE) as DeviceName[]).find((k) => DEVICE[k] === code);
      if (!device) throw new ProtocolError(`unknown device ${code}`);
      q = {
        op,
        id,
        device,
        request: r.u32(),
        arg: r.required('arg'),
        requestBuffer: r.required('request buffer'),
        responseSize: r.u32(),
        certsSize: r.u32(),
      };
      break;
    }
    case 'devices':
      q = { op, id };
      break;
    case 'write':
      q = { op, id, path: r.string('path'), data: r.required('data') };
      break;
    default:
      q = { op, id, path: r.string('path') };
  }
  r.end();
  return q;
}

export function encodeResponse(s: DeviceResponse): Buffer {
  const w = header(new Writer(), s.op, s.id).u32(s.errno);
  switch (s.op) {
    case 'ioctl':
      w.u64(s.exitinfo2).blob(s.arg).blob(s.requestBuffer).blob(s.response).blob(s.certs);
      break;
    case 'devices':
      w.strings(s.paths);
      break;
    case 'readdir':
      if (s.errno === 0) w.strings(s.names);
      break;
    case 'read':
      if (s.errno === 0) w.blob(s.data);
      break;
  }
  return w.frame();
}

export function decodeResponse(body: Buffer): DeviceResponse {
  const r = new Reader(body);
  const { op, id } = readHeader(r);
  const errno = r.u32();
  let s: DeviceResponse;
  switch (op) {
    case 'ioctl':
      s = {
        op,
        id,
        errno,
        exitinfo2: r.u64(),
        arg: r.required('arg'),
        requestBuffer: r.blob(),
        response: r.blob(),
        certs: r.blob(),
      };
      break;
    case 'devices':
      s = { op, id, errno, paths: r.strings('paths') };
      break;
    case 'readdir':
      s = { op, id, errno, names: errno === 0 ? r.strings('names') : [] };
      break;
    case 'read':
      s = { op, id, errno, data: errno === 0 ? r.blob() : undefined };
      break;
    default:
      s = { op, id, errno };
  }
  r.end();
  return s;
}

/** Splits a byte stream into frame bodies. */
export class FrameReader {
  #buffer: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the complete frame bodies now available. Throws ProtocolError on an oversized frame. */
  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt32LE(0);
      if (length > MAX_FRAME) throw new ProtocolError(`frame of ${length} bytes exceeds ${MAX_FRAME}`);
      if (this.#buffer.length < 4 + length) break;
      frames.push(Buffer.from(this.#buffer.subarray(4, 4 + length)));
      this.#buffer = this.#buffer.subarray(4 + length);
    }
    return frames;
  }
}
