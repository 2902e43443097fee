/**
 * Test support: the same simulated guest reached in process or through the Unix device socket, so
 * one set of device tests runs against both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IoctlCall, IoctlResult } from '../../../sim/sev/fake-sev-guest.ts';
import type { SimulatedGuest } from '../../../sim/sev/guest.ts';
import type { DeviceName } from '../../../sim/sev/protocol.ts';
import { DeviceSocketClient } from '../../../sim/sev/socket-client.ts';
import { serveDeviceSocket } from '../../../sim/sev/socket-server.ts';
import type { TsmFilesystem } from '../../../sim/sev/tsm-filesystem.ts';

export interface GuestTransport {
  ioctl(device: DeviceName, call: IoctlCall): Promise<IoctlResult>;
  readonly tsm: TsmFilesystem;
  close(): Promise<void>;
}

export type TransportFactory = (guest: SimulatedGuest) => Promise<GuestTransport>;

export const inProcess: TransportFactory = async (guest) => ({
  ioctl: async (device, call) => {
    const fake = device === 'sev' ? guest.sev : guest.sevGuest;
    if (!fake) throw new Error(`guest has no ${device} device`);
    return fake.ioctl(call);
  },
  tsm: guest.tsm!,
  close: async () => {},
});

export const overSocket: TransportFactory = async (guest) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'securekey-sev-'));
  const server = await serveDeviceSocket(path.join(dir, 'guest.sock'), guest);
  const client = await DeviceSocketClient.connect(server.path);
  return {
    ioctl: (device, call) => client.ioctl(device, call),
    tsm: client.tsm,
    close: async () => {
      await client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

export const TRANSPORTS: readonly [string, TransportFactory][] = [
  ['in process', inProcess],
  ['over the Unix socket', overSocket],
];
