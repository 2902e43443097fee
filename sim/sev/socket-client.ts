/**
 * A client of the device socket (protocol.ts): ioctls on the simulated `/dev/sev-guest` and
 * `/dev/sev`, and configfs-tsm as a TsmFilesystem whose errors carry the same `code`s node:fs gives.
 */
import net from 'node:net';
import { errnoCode, systemError } from './errno.ts';
import type { IoctlCall, IoctlResult } from './fake-sev-guest.ts';
import {
  decodeResponse,
  encodeRequest,
  FrameReader,
  type DeviceName,
  type DeviceRequest,
  type DeviceResponse,
} from './protocol.ts';
import type { TsmFilesystem } from './tsm-filesystem.ts';

type Pending = { resolve: (r: DeviceResponse) => void; reject: (e: Error) => void };

export class DeviceSocketClient {
  readonly #socket: net.Socket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    const frames = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const body of frames.push(chunk)) {
          const response = decodeResponse(body);
          const pending = this.#pending.get(response.id);
          this.#pending.delete(response.id);
          pending?.resolve(response);
        }
      } catch (err) {
        this.#failAll(err as Error);
        socket.destroy();
      }
    });
    socket.on('close', () => this.#failAll(new Error('device socket closed')));
    socket.on('error', (err) => this.#failAll(err));
  }

  static connect(path: string): Promise<DeviceSocketClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new DeviceSocketClient(socket));
      });
    });
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #call<T extends DeviceResponse['op']>(
    request: DeviceRequest & { op: T },
  ): Promise<Extract<DeviceResponse, { op: T }>> {
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, {
        resolve: (r) =>
          r.op === request.op
            ? resolve(r as Extract<DeviceResponse, { op: T }>)
            : reject(new Error(`answer to ${request.op} was ${r.op}`)),
        reject,
      });
      this.#socket.write(encodeRequest(request));
    });
  }

  #id(): number {
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) >>> 0 || 1;
    return id;
  }

  /** The device paths the simulated guest has (e.g. /dev/sev-guest, /sys/kernel/config/tsm/report). */
  async devices(): Promise<string[]> {
    return (await this.#call({ op: 'devices', id: this.#id() })).paths;
  }

  /** An ioctl on `/dev/sev-guest` (`sev-guest`) or `/dev/sev` (`sev`). */
  async ioctl(device: DeviceName, call: IoctlCall): Promise<IoctlResult> {
    const r = await this.#call({
      op: 'ioctl',
      id: this.#id(),
      device,
      request: call.request >>> 0,
      arg: Buffer.from(call.arg),
      requestBuffer: Buffer.from(call.requestBuffer),
      responseSize: call.responseSize,
      certsSize: call.certsSize ?? 0,
    });
    const { op: _op, id: _id, ...result } = r;
    return result;
  }

  /** configfs-tsm over the socket; rejects with node:fs-style errors (`code`, `errno`, `syscall`, `path`). */
  get tsm(): TsmFilesystem {
    const check = (r: DeviceResponse, syscall: string, path: string): void => {
      if (r.errno === 0) return;
      const code = errnoCode(r.errno);
      if (code === undefined) throw new Error(`errno ${r.errno}, ${syscall} '${path}'`);
      throw systemError(code, syscall, path);
    };
    return {
      mkdir: async (path) => {
        check(await this.#call({ op: 'mkdir', id: this.#id(), path }), 'mkdir', path);
        return undefined;
      },
      rmdir: async (path) => {
        check(await this.#call({ op: 'rmdir', id: this.#id(), path }), 'rmdir', path);
      },
      readdir: async (path) => {
        const r = await this.#call({ op: 'readdir', id: this.#id(), path });
        check(r, 'scandir', path);
        return r.names;
      },
      readFile: async (path) => {
        const r = await this.#call({ op: 'read', id: this.#id(), path });
        check(r, 'read', path);
        return r.data ?? Buffer.alloc(0);
      },
      writeFile: async (path, data) => {
        const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
        check(await this.#call({ op: 'write', id: this.#id(), path, data: bytes }), 'write', path);
      },
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
