/** The TCG PC Client event log (crypto-agile): parse, replay, boot state, and the encoder simulators use. */
export * from './constants.ts';
export {
  bootState,
  guidBytes,
  guidText,
  uefiVariable,
  uefiVariableData,
  type BootState,
  type SecureBootVariable,
  type UefiVariable,
} from './efi.ts';
export {
  encodeTcgLog,
  eventDigest,
  specIdEventData,
  startupLocalityData,
  type EventToLog,
} from './encode.ts';
export { TcgLogError, type TcgLogErrorKind } from './errors.ts';
export { parseTcgLog, type SpecIdEvent, type TcgEvent, type TcgLog } from './parse.ts';
export { replayTcgLog } from './replay.ts';
