/**
 * Client of the simulated guest devices' Unix socket (protocol version 1, specified in
 * sim/sev/README.md "The device socket"): the ioctls of `/dev/sev-guest` and the file operations of
 * configfs-tsm, carried as length-prefixed little-endian frames. The agent keeps its own codec so that
 * it depends on the wire format, not on the simulator's code.
 *
 * Frame: u32 length, then the body. Request body: u8 version, u8 op, u32 id, op fields. Response body:
 * u8 version, u8 op, u32 id, u32 errno, op results. `blob` = u32 n + n bytes (0xFFFFFFFF: absent).
 */
import net from 'node:net';
import type { TsmFilesystem } from './tsm.ts';

const VERSION = 1;
const ABSENT = 0xffff_ffff;
const MAX_FRAME = 1 << 20;
const OP = {
  ioctl: 0x01,
  devices: 0x02,
  mkdir: 0x10,
  rmdir: 0x11,
  readdir: 0x12,
  read: 0x13,
  write: 0x14,
} as const;
type Op = keyof typeof OP;
const DEVICE = { 'sev-guest': 0, sev: 1 } as const;

/** Linux errno numbers the devices answer with (asm-generic/errno*.h). */
const ERRNO_CODES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  5: 'EIO',
  6: 'ENXIO',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  25: 'ENOTTY',
  27: 'EFBIG',
  28: 'ENOSPC',
  39: 'ENOTEMPTY',
  71: 'EPROTO',
  110: 'ETIMEDOUT',
};

export function errnoName(errno: number): string {
  return ERRNO_CODES[errno] ?? `errno ${errno}`;
}

export interface IoctlCall {
  request: number;
  /** The argument struct (32 bytes for /dev/sev-guest). */
  arg: Buffer;
  /** What `req_data` points to. */
  requestBuffer: Buffer;
  responseSize: number;
  certsSize: number;
}

export interface IoctlAnswer {
  errno: number;
  exitinfo2: bigint;
  arg: Buffer;
  /** The request buffer, when the kernel wrote it back (SNP_GET_EXT_REPORT's certs_len). */
  requestBuffer: Buffer | undefined;
  response: Buffer | undefined;
  certs: Buffer | undefined;
}

/** An error shaped as node:fs throws them, so configfs-tsm code handles both alike. */
export class DeviceFileError extends Error {
  readonly code: string;
  readonly syscall: string;
  readonly path: string;
  constructor(code: string, syscall: string, path: string) {
    super(`${code}: ${syscall} '${path}'`);
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

class Writer {
  readonly parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  blob(v: Buffer): this {
    this.u32(v.length);
    this.parts.push(v);
    return this;
  }
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
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
    if (this.#at + n > this.#b.length) throw new Error('device socket: truncated response frame');
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
  strings(): string[] {
    const n = this.u32();
    return Array.from({ length: n }, () => (this.blob() ?? Buffer.alloc(0)).toString('utf8'));
  }
}

type Pending = { op: Op; resolve: (r: Reader, errno: number) => void; reject: (e: Error) => void };

export class DeviceSocket {
  readonly path: string;
  readonly #socket: net.Socket;
  readonly #pending = new Map<number, Pending>();
  #buffer = Buffer.alloc(0);
  #nextId = 1;
  #closedError: Error | undefined;

  private constructor(path: string, socket: net.Socket) {
    this.path = path;
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#failAll(new Error(`device socket ${path} closed`)));
    socket.on('error', (err) => this.#failAll(err));
  }

  static connect(path: string): Promise<DeviceSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new DeviceSocket(path, socket));
      });
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt32LE(0);
      if (length > MAX_FRAME) {
        this.#failAll(new Error(`device socket: a ${length}-byte frame is over the ${MAX_FRAME}-byte limit`));
        this.#socket.destroy();
        return;
      }
      if (this.#buffer.length < 4 + length) return;
      const body = Buffer.from(this.#buffer.subarray(4, 4 + length));
      this.#buffer = this.#buffer.subarray(4 + length);
      try {
        const r = new Reader(body);
        const version = r.u8();
        const op = r.u8();
        const id = r.u32();
        const errno = r.u32();
        const pending = this.#pending.get(id);
        if (version !== VERSION || pending === undefined || OP[pending.op] !== op) {
          throw new Error(`device socket: unexpected response (version ${version}, op ${op}, id ${id})`);
        }
        this.#pending.delete(id);
        pending.resolve(r, errno);
      } catch (err) {
        this.#failAll(err as Error);
        this.#socket.destroy();
        return;
      }
    }
  }

  #failAll(err: Error): void {
    this.#closedError ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #call<T>(op: Op, fields: (w: Writer) => void, read: (r: Reader, errno: number) => T): Promise<T> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) >>> 0 || 1;
    const w = new Writer().u8(VERSION).u8(OP[op]).u32(id);
    fields(w);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        op,
        resolve: (r, errno) => {
          try {
            resolve(read(r, errno));
          } catch (err) {
            reject(err as Error);
          }
        },
        reject,
      });
      this.#socket.write(w.frame());
    });
  }

  /** The interfaces the guest has, e.g. `/dev/sev-guest`, `/sys/kernel/config/tsm/report`. */
  devices(): Promise<string[]> {
    return this.#call(
      'devices',
      () => {},
      (r) => r.strings(),
    );
  }

  ioctl(device: keyof typeof DEVICE, call: IoctlCall): Promise<IoctlAnswer> {
    return this.#call(
      'ioctl',
      (w) =>
        w
          .u8(DEVICE[device])
          .u32(call.request)
          .blob(call.arg)
          .blob(call.requestBuffer)
          .u32(call.responseSize)
          .u32(call.certsSize),
      (r, errno) => ({
        errno,
        exitinfo2: r.u64(),
        arg: r.blob() ?? Buffer.alloc(0),
        requestBuffer: r.blob(),
        response: r.blob(),
        certs: r.blob(),
      }),
    );
  }

  /** configfs-tsm through the socket; failures are DeviceFileErrors with the errno's code. */
  get tsm(): TsmFilesystem {
    const path = (w: Writer, p: string): Writer => w.blob(Buffer.from(p, 'utf8'));
    const check = (errno: number, syscall: string, p: string): void => {
      if (errno !== 0) throw new DeviceFileError(errnoName(errno), syscall, p);
    };
    return {
      mkdir: (p) =>
        this.#call(
          'mkdir',
          (w) => path(w, p),
          (_r, e) => check(e, 'mkdir', p),
        ),
      rmdir: (p) =>
        this.#call(
          'rmdir',
          (w) => path(w, p),
          (_r, e) => check(e, 'rmdir', p),
        ),
      readdir: (p) =>
        this.#call(
          'readdir',
          (w) => path(w, p),
          (r, e) => {
            check(e, 'scandir', p);
            return r.strings();
          },
        ),
      readFile: (p) =>
        this.#call(
          'read',
          (w) => path(w, p),
          (r, e) => {
            check(e, 'read', p);
            return r.blob() ?? Buffer.alloc(0);
          },
        ),
      writeFile: (p, data) =>
        this.#call(
          'write',
          (w) => path(w, p).blob(Buffer.from(data)),
          (_r, e) => check(e, 'write', p),
        ),
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve();
      this.#socket.once('close', () => resolve());
      this.#socket.end();
    });
  }
}
