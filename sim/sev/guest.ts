/**
 * One simulated SNP guest: a launched guest (its ReportSigner) and the device interfaces its kernel
 * offers, all sharing one request channel. This is what the sandbox serves on the device socket.
 */
import { FakeSevGuest } from './fake-sev-guest.ts';
import { FakeTsmReportSubsystem, type FakeTsmOptions } from './fake-tsm.ts';
import { GuestRequestChannel, type GuestChannelOptions } from './guest-channel.ts';
import type { GuestDevices } from './socket-server.ts';

export interface SimulatedGuestOptions extends GuestChannelOptions {
  /** Which interfaces the guest kernel has; default `/dev/sev-guest` and configfs-tsm (Linux ≥ 6.7). */
  readonly interfaces?: readonly ('sev-guest' | 'sev' | 'tsm')[];
  readonly tsm?: FakeTsmOptions;
}

export interface SimulatedGuest extends GuestDevices {
  readonly channel: GuestRequestChannel;
}

export function simulatedGuest(options: SimulatedGuestOptions): SimulatedGuest {
  const channel = new GuestRequestChannel(options);
  const has = new Set(options.interfaces ?? ['sev-guest', 'tsm']);
  return {
    channel,
    ...(has.has('sev-guest') ? { sevGuest: new FakeSevGuest(channel, 'sev-guest') } : {}),
    ...(has.has('sev') ? { sev: new FakeSevGuest(channel, 'sev') } : {}),
    ...(has.has('tsm') ? { tsm: new FakeTsmReportSubsystem(channel, options.tsm) } : {}),
  };
}
