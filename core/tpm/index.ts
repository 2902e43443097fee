/**
 * TPM 2.0 command marshalling and response parsing, pure: what the node agent sends to the
 * vTPM and reads back, carried by edge/tpm.
 */
export * from './commands.ts';
export {
  checkResponseHeader,
  commandCode,
  commandHandles,
  decodeResponse,
  encodeCommand,
  PASSWORD,
  responseCode,
  type Authorization,
  type CommandSpec,
} from './command.ts';
export * from './constants.ts';
export { TpmError, type TpmErrorKind } from './errors.ts';
export { TpmReader, TpmWriter } from './marshal.ts';
export { isRetryable, responseCodeName } from './response-code.ts';
export * from './structures.ts';
