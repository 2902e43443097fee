/**
 * Serves the simulated guest devices on a Unix domain socket, so an agent in another process (or a
 * container with the socket mounted) can use them: the framing is in protocol.ts and README.md.
 * Requests on one connection are answered in order; connections share the devices' state, as
 * processes in one guest share its kernel.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { FakeSevGuest } from './fake-sev-guest.ts';
import type { FakeTsmReportSubsystem } from './fake-tsm.ts';
import { ERRNO, errnoOf } from './errno.ts';
import {
  decodeRequest,
  encodeResponse,
  FrameReader,
  ProtocolError,
  type DeviceRequest,
  type DeviceResponse,
} from './protocol.ts';

export interface GuestDevices {
  /** Answers ioctls for /dev/sev-guest. */
  readonly sevGuest?: FakeSevGuest;
  /** Answers ioctls for /dev/sev. */
  readonly sev?: FakeSevGuest;
  /** Answers the file operations under its root (/sys/kernel/config/tsm/report). */
  readonly tsm?: FakeTsmReportSubsystem;
}

export interface RunningDeviceSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Buffers a caller may ask the kernel to fill; larger ones are refused with EINVAL. */
export const MAX_IOCTL_BUFFER = 0x10000;

export async function handleDeviceRequest(devices: GuestDevices, q: DeviceRequest): Promise<DeviceResponse> {
  switch (q.op) {
    case 'ioctl': {
      const device = q.device === 'sev' ? devices.sev : devices.sevGuest;
      const refuse = (errno: number): DeviceResponse => ({
        op: 'ioctl',
        id: q.id,
        errno,
        exitinfo2: 0n,
        arg: q.arg,
        requestBuffer: undefined,
        response: undefined,
        certs: undefined,
      });
      if (!device) return refuse(ERRNO.ENOENT);
      if (q.responseSize > MAX_IOCTL_BUFFER || q.certsSize > MAX_IOCTL_BUFFER) return refuse(ERRNO.EINVAL);
      return { op: 'ioctl', id: q.id, ...device.ioctl(q) };
    }
    case 'devices':
      return {
        op: 'devices',
        id: q.id,
        errno: 0,
        paths: [devices.sev?.path, devices.sevGuest?.path, devices.tsm?.root].filter((p) => p !== undefined),
      };
    default:
      return fileOperation(devices.tsm, q);
  }
}

async function fileOperation(
  tsm: FakeTsmReportSubsystem | undefined,
  q: Exclude<DeviceRequest, { op: 'ioctl' | 'devices' }>,
): Promise<DeviceResponse> {
  const failed = (errno: number): DeviceResponse =>
    q.op === 'readdir'
      ? { op: q.op, id: q.id, errno, names: [] }
      : q.op === 'read'
        ? { op: q.op, id: q.id, errno, data: undefined }
        : { op: q.op, id: q.id, errno };
  if (!tsm) return failed(ERRNO.ENOENT);
  try {
    switch (q.op) {
      case 'mkdir':
        await tsm.mkdir(q.path);
        return { op: q.op, id: q.id, errno: 0 };
      case 'rmdir':
        await tsm.rmdir(q.path);
        return { op: q.op, id: q.id, errno: 0 };
      case 'write':
        await tsm.writeFile(q.path, q.data);
        return { op: q.op, id: q.id, errno: 0 };
      case 'readdir':
        return { op: q.op, id: q.id, errno: 0, names: await tsm.readdir(q.path) };
      case 'read':
        return { op: q.op, id: q.id, errno: 0, data: await tsm.readFile(q.path) };
    }
  } catch (err) {
    const code = errnoOf(err);
    if (code === undefined) throw err;
    return failed(ERRNO[code]);
  }
}

function removeStaleSocket(path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}

export async function serveDeviceSocket(
  path: string,
  devices: GuestDevices,
  options: { log?: (event: Record<string, unknown>) => void } = {},
): Promise<RunningDeviceSocket> {
  const log = options.log ?? (() => {});
  removeStaleSocket(path);
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    const frames = new FrameReader();
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = frames.push(chunk);
      } catch (err) {
        log({ sim: 'sev-socket', event: 'protocol-error', message: (err as Error).message });
        socket.destroy();
        return;
      }
      for (const body of bodies) {
        queue = queue
          .then(async () => {
            let request: DeviceRequest;
            try {
              request = decodeRequest(body);
            } catch (err) {
              if (!(err instanceof ProtocolError)) throw err;
              log({ sim: 'sev-socket', event: 'protocol-error', message: err.message });
              socket.destroy();
              return;
            }
            const response = await handleDeviceRequest(devices, request);
            log({ sim: 'sev-socket', op: request.op, errno: response.errno });
            if (!socket.destroyed) socket.write(encodeResponse(response));
          })
          .catch((err: unknown) => {
            // A bug in a fake must not take the server down: drop this connection only.
            log({ sim: 'sev-socket', event: 'internal-error', message: (err as Error).message });
            socket.destroy();
          });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => resolve());
      }),
  };
}
