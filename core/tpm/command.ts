/**
 * The command and response frames (TPM 2.0 Part 1 §18, Part 3 §5): header, handle area,
 * authorisation area and parameters. SecureKey authorises with the password session (TPM_RS_PW,
 * empty password: the vTPM's hierarchies and our keys have none) or with a policy session it has
 * already satisfied; it never needs HMAC sessions.
 */
import { MAX_COMMAND_SIZE, MAX_RESPONSE_SIZE, TPM_RH, TPM_ST } from './constants.ts';
import { TpmError } from './errors.ts';
import { TpmReader, TpmWriter } from './marshal.ts';
import { responseCodeName } from './response-code.ts';

/** One authorisation: the password session (default) or a satisfied policy session's handle. */
export type Authorization =
  { readonly session: 'password' } | { readonly session: 'policy'; readonly handle: number };

export const PASSWORD: Authorization = { session: 'password' };

export interface CommandSpec {
  readonly cc: number;
  /** Handle area, in order. */
  readonly handles?: readonly number[];
  /** One per handle that needs authorisation; none means TPM_ST_NO_SESSIONS. */
  readonly auths?: readonly Authorization[];
  readonly parameters?: Uint8Array;
}

/** The command's bytes. */
export function encodeCommand(spec: CommandSpec): Buffer {
  const auths = spec.auths ?? [];
  const body = new TpmWriter();
  for (const h of spec.handles ?? []) body.u32(h);
  if (auths.length) {
    const area = new TpmWriter();
    for (const a of auths) {
      // Password: empty nonce, continueSession (ignored for TPM_RS_PW), empty password.
      // Policy: no HMAC is due (no PolicyAuthValue); the session ends with this command.
      area
        .u32(a.session === 'password' ? TPM_RH.PW : a.handle)
        .u16(0)
        .u8(a.session === 'password' ? 0x01 : 0x00)
        .u16(0);
    }
    const bytes = area.done();
    body.u32(bytes.length).bytes(bytes);
  }
  if (spec.parameters) body.bytes(spec.parameters);
  const rest = body.done();
  const size = 10 + rest.length;
  if (size > MAX_COMMAND_SIZE)
    throw new TpmError('bad-argument', `command of ${size} bytes, at most ${MAX_COMMAND_SIZE}`);
  return new TpmWriter()
    .u16(auths.length ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS)
    .u32(size)
    .u32(spec.cc)
    .bytes(rest)
    .done();
}

export interface Response {
  readonly handles: number[];
  /** The parameter area, confined: reading past it is malformed. */
  readonly parameters: TpmReader;
}

/** Reads the response header; a non-zero code is a `tpm-error` with its name. */
export function checkResponseHeader(bytes: Uint8Array, command: string): { tag: number; rc: number } {
  if (bytes.length > MAX_RESPONSE_SIZE) {
    throw new TpmError(
      'response-too-large',
      `${command}: a response of ${bytes.length} bytes, at most ${MAX_RESPONSE_SIZE}`,
    );
  }
  const r = new TpmReader(bytes, command);
  const tag = r.u16();
  const size = r.u32();
  const rc = r.u32();
  if (size !== bytes.length) r.fail(`header says ${size} bytes, got ${bytes.length}`);
  if (tag !== TPM_ST.SESSIONS && tag !== TPM_ST.NO_SESSIONS) r.fail(`tag 0x${tag.toString(16)}`);
  if (rc !== 0) {
    const rcName = responseCodeName(rc);
    throw new TpmError('tpm-error', `${command} failed: ${rcName} (0x${rc.toString(16)})`, {
      responseCode: rc,
      rcName,
    });
  }
  return { tag, rc };
}

/**
 * Splits a successful response into handles and parameters. `sessions` says whether the command
 * carried an authorisation area (the response then has one too, with `parameterSize`).
 */
export function decodeResponse(
  bytes: Uint8Array,
  expect: { readonly command: string; readonly handles?: number; readonly sessions: number },
): Response {
  const { tag } = checkResponseHeader(bytes, expect.command);
  const r = new TpmReader(bytes, expect.command, 10);
  const handles: number[] = [];
  for (let i = 0; i < (expect.handles ?? 0); i++) handles.push(r.u32());
  if (expect.sessions === 0) {
    if (tag !== TPM_ST.NO_SESSIONS) r.fail('sessions in the response to a command without any');
    return { handles, parameters: r.sub(r.remaining, 'parameters') };
  }
  if (tag !== TPM_ST.SESSIONS) r.fail('no authorisation area in the response');
  const parameterSize = r.u32();
  const parameters = r.sub(parameterSize, 'parameters');
  for (let i = 0; i < expect.sessions; i++) {
    r.tpm2b(64, 'nonceTPM');
    r.u8();
    r.tpm2b(64, 'hmac');
  }
  r.end();
  return { handles, parameters };
}

/** The command code of a command (what a proxy looks at), or undefined if it is too short. */
export function commandCode(command: Uint8Array): number | undefined {
  if (command.length < 10) return undefined;
  return Buffer.from(command.buffer, command.byteOffset, command.byteLength).readUInt32BE(6);
}

/** The handle area of a command with `count` handles. */
export function commandHandles(command: Uint8Array, count: number): number[] | undefined {
  if (command.length < 10 + 4 * count) return undefined;
  const b = Buffer.from(command.buffer, command.byteOffset, command.byteLength);
  return Array.from({ length: count }, (_, i) => b.readUInt32BE(10 + 4 * i));
}

/** The response code of a response, or undefined if it is too short to have one. */
export function responseCode(response: Uint8Array): number | undefined {
  if (response.length < 10) return undefined;
  return Buffer.from(response.buffer, response.byteOffset, response.byteLength).readUInt32BE(6);
}
