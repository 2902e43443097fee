/**
 * Carries TPM command bytes to a TPM and its response back, one command at a time:
 * - the kernel's resource manager device (`/dev/tpmrm0`): write a whole command, read a whole
 *   response; the kernel flushes what this file handle loaded when it is closed;
 * - swtpm's server socket (TCP or Unix) with the Microsoft simulator framing the swtpm and mssim
 *   TCTIs speak: TPM_SEND_COMMAND (8), locality, u32 size, command; back u32 size, response, u32 0.
 * Both bound the exchange in time (`timeoutMs`) and size (`maxResponseBytes`): a TPM answers a few
 * KiB at most, so anything larger is refused before it is buffered.
 */
import { open, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import { MAX_RESPONSE_SIZE, TpmError } from '../../core/tpm/index.ts';
import { TpmTransportError } from './errors.ts';

export interface TpmTransport {
  /** Sends one command and resolves with its whole response. Concurrent calls are queued. */
  send(command: Uint8Array): Promise<Buffer>;
  close(): Promise<void>;
  /** Where the bytes go (`/dev/tpmrm0`, `tcp:127.0.0.1:2321`), for logs. */
  readonly description: string;
}

export interface TransportOptions {
  /** Per command; RSA key generation takes seconds on a hardware TPM. Default 60 s. */
  readonly timeoutMs?: number;
  /** Default 4096 (TPM_PT_MAX_RESPONSE_SIZE of every TPM we know). */
  readonly maxResponseBytes?: number;
  /**
   * Socket only: keep one connection (default) or connect per command. swtpm serves one
   * connection at a time, so a simulator that shares it with other tools connects per command.
   */
  readonly persistent?: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const TPM_SEND_COMMAND = 8;
const TPM_SESSION_END = 20;

/** Runs `fn` after every earlier call has settled. */
function serialiser(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

function tooLarge(size: number, max: number, where: string): TpmError {
  return new TpmError('response-too-large', `${where}: a response of ${size} bytes, at most ${max}`);
}

/** The kernel TPM device: `/dev/tpmrm0` (resource-managed) by default. */
export function deviceTransport(path = '/dev/tpmrm0', options: TransportOptions = {}): TpmTransport {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const max = options.maxResponseBytes ?? MAX_RESPONSE_SIZE;
  const queue = serialiser();
  let handle: Promise<FileHandle> | undefined;
  let broken: TpmTransportError | undefined;

  const fileHandle = (): Promise<FileHandle> => {
    handle ??= open(path, 'r+').catch((cause: unknown) => {
      handle = undefined;
      throw new TpmTransportError('unavailable', `cannot open ${path}: ${(cause as Error).message}`, {
        cause,
      });
    });
    return handle;
  };

  const exchange = async (command: Uint8Array): Promise<Buffer> => {
    if (broken) throw broken;
    const fh = await fileHandle();
    await fh.write(command);
    // One read returns the whole response; one byte more than the cap tells a larger one apart.
    const buf = Buffer.alloc(max + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead > max) throw tooLarge(bytesRead, max, path);
    if (bytesRead < 10) throw new TpmTransportError('protocol', `${path}: a response of ${bytesRead} bytes`);
    return buf.subarray(0, bytesRead);
  };

  return {
    description: path,
    send: (command) =>
      queue(() => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // The kernel cannot take a read back: the handle is unusable until that read returns.
            broken = new TpmTransportError('timeout', `${path}: no response within ${timeoutMs} ms`);
            reject(broken);
          }, timeoutMs);
        });
        return Promise.race([exchange(command), timeout]).finally(() => clearTimeout(timer));
      }),
    close: async () => {
      broken ??= new TpmTransportError('closed', `${path} is closed`);
      const h = handle;
      handle = undefined;
      if (h) await (await h.catch(() => undefined))?.close();
    },
  };
}

export type SocketAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** swtpm's (or the simulated vTPM's) server socket, TCP or Unix, with the simulator framing. */
export function socketTransport(address: SocketAddress, options: TransportOptions = {}): TpmTransport {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const max = options.maxResponseBytes ?? MAX_RESPONSE_SIZE;
  const where = 'path' in address ? `unix:${address.path}` : `tcp:${address.host}:${address.port}`;
  const queue = serialiser();
  let socket: net.Socket | undefined;
  let closed = false;

  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = 'path' in address ? net.connect(address.path) : net.connect(address.port, address.host);
      const fail = (cause: Error) => {
        s.destroy();
        reject(
          new TpmTransportError('unavailable', `cannot reach the TPM at ${where}: ${cause.message}`, {
            cause,
          }),
        );
      };
      s.once('error', fail);
      s.once('connect', () => {
        s.off('error', fail);
        s.on('error', () => undefined); // reported by the exchange that is waiting, if any
        s.once('close', () => {
          if (socket === s) socket = undefined;
        });
        resolve(s);
      });
    });

  const exchange = async (command: Uint8Array): Promise<Buffer> => {
    if (closed) throw new TpmTransportError('closed', `${where} is closed`);
    socket ??= await connect();
    const s = socket;
    return new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      let size: number | undefined;
      const done = (err: Error | undefined, response?: Buffer) => {
        clearTimeout(timer);
        s.off('data', onData);
        s.off('close', onClose);
        if (err) {
          // The stream is out of step with us now: start over on the next command.
          s.destroy();
          if (socket === s) socket = undefined;
          reject(err);
        } else {
          if (options.persistent === false) {
            s.end();
            if (socket === s) socket = undefined;
          }
          resolve(response!);
        }
      };
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (size === undefined && got.length >= 4) {
          size = got.readUInt32BE(0);
          if (size > max) return done(tooLarge(size, max, where));
          if (size < 10) return done(new TpmTransportError('protocol', `${where}: a frame of ${size} bytes`));
        }
        if (size !== undefined && got.length >= 4 + size + 4) {
          if (got.length > 4 + size + 4)
            return done(new TpmTransportError('protocol', `${where}: bytes after the frame`));
          const ack = got.readUInt32BE(4 + size);
          if (ack !== 0) return done(new TpmTransportError('protocol', `${where}: acknowledgement ${ack}`));
          done(undefined, Buffer.from(got.subarray(4, 4 + size)));
        }
      };
      const onClose = () =>
        done(new TpmTransportError('closed', `${where} closed the connection mid-response`));
      const timer = setTimeout(
        () => done(new TpmTransportError('timeout', `${where}: no response within ${timeoutMs} ms`)),
        timeoutMs,
      );
      s.on('data', onData);
      s.once('close', onClose);
      const head = Buffer.alloc(9);
      head.writeUInt32BE(TPM_SEND_COMMAND, 0);
      head.writeUInt8(0, 4); // locality 0
      head.writeUInt32BE(command.length, 5);
      s.write(Buffer.concat([head, command]));
    });
  };

  return {
    description: where,
    send: (command) => queue(() => exchange(command)),
    close: async () => {
      closed = true;
      const s = socket;
      socket = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        const end = Buffer.alloc(4);
        end.writeUInt32BE(TPM_SESSION_END);
        s.end(end);
        setTimeout(() => s.destroy(), 1000).unref();
      });
    },
  };
}

/**
 * A transport from its configuration string: `/dev/tpmrm0` (any path under /dev),
 * `tcp:HOST:PORT` or `unix:PATH` (a swtpm or the simulated vTPM).
 */
export function openTransport(spec: string, options: TransportOptions = {}): TpmTransport {
  if (spec.startsWith('tcp:')) {
    const m = /^tcp:(.+):(\d{1,5})$/.exec(spec);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new TpmTransportError('unavailable', `"${spec}" is not tcp:HOST:PORT`);
    }
    return socketTransport({ host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port }, options);
  }
  if (spec.startsWith('unix:')) return socketTransport({ path: spec.slice('unix:'.length) }, options);
  if (spec.startsWith('/dev/')) return deviceTransport(spec, options);
  throw new TpmTransportError('unavailable', `"${spec}" is neither a /dev path, tcp:HOST:PORT nor unix:PATH`);
}
