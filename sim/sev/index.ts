/**
 * Simulated SEV-SNP guest devices (SecureKey simulator): the kernel side of `/dev/sev-guest`,
 * `/dev/sev` and configfs-tsm on the real byte structures, in process or over a Unix socket.
 */
export * as abi from './abi.ts';
export { ERRNO, errnoCode, errnoOf, systemError, type ErrnoCode, type SystemError } from './errno.ts';
export { FakeSevGuest, type IoctlCall, type IoctlResult, type SevDeviceAbi } from './fake-sev-guest.ts';
export {
  FakeTsmReportSubsystem,
  TSM_ATTRIBUTES,
  TSM_INBLOB_MAX,
  type FakeTsmOptions,
  type TsmAttribute,
} from './fake-tsm.ts';
export {
  GuestRequestChannel,
  type GuestChannelOptions,
  type GuestChannelStats,
  type GuestOutcome,
  type ThrottleOptions,
} from './guest-channel.ts';
export { simulatedGuest, type SimulatedGuest, type SimulatedGuestOptions } from './guest.ts';
export {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  FrameReader,
  MAX_FRAME,
  OP,
  PROTOCOL_VERSION,
  ProtocolError,
  type DeviceName,
  type DeviceRequest,
  type DeviceResponse,
} from './protocol.ts';
export { DeviceSocketClient } from './socket-client.ts';
export {
  handleDeviceRequest,
  MAX_IOCTL_BUFFER,
  serveDeviceSocket,
  type GuestDevices,
  type RunningDeviceSocket,
} from './socket-server.ts';
export { TSM_REPORT_ROOT, type TsmFilesystem } from './tsm-filesystem.ts';
