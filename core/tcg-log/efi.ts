/**
 * What a verifier reads out of the log for boot-state claims: the UEFI variables firmware measures
 * into PCR 7 before its separator (EV_EFI_VARIABLE_DRIVER_CONFIG with UEFI_VARIABLE_DATA: GUID,
 * name length and data length as UINT64, the UTF-16LE name, the data) and the separators of PCRs 0–7.
 * An event is believed only when its digest is the hash of its data, as the PFP defines these events:
 * otherwise the data could say anything while the digest replays.
 */
import crypto from 'node:crypto';
import { EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE, EV, type TcgHash } from './constants.ts';
import { TcgLogError } from './errors.ts';
import type { TcgEvent, TcgLog } from './parse.ts';

export interface UefiVariable {
  /** Lower-case text form (the first three fields little-endian on the wire). */
  readonly guid: string;
  readonly name: string;
  readonly data: Buffer;
}

export function guidText(b: Uint8Array): string {
  const x = Buffer.from(b);
  const h = (n: number) => n.toString(16).padStart(8, '0');
  return [
    h(x.readUInt32LE(0)),
    h(x.readUInt16LE(4)).slice(4),
    h(x.readUInt16LE(6)).slice(4),
    x.subarray(8, 10).toString('hex'),
    x.subarray(10, 16).toString('hex'),
  ].join('-');
}

export function guidBytes(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new TcgLogError('bad-argument', `${text} is not a GUID`);
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

/** UEFI_VARIABLE_DATA out of an EV_EFI_VARIABLE_* event. */
export function uefiVariable(e: TcgEvent): UefiVariable {
  const d = e.data;
  const fail = (problem: string) =>
    new TcgLogError(
      'bad-event-data',
      `event ${e.number} at offset ${e.offset}: UEFI_VARIABLE_DATA ${problem}`,
      {
        offset: e.offset,
      },
    );
  if (d.length < 32) throw fail(`is ${d.length} bytes, shorter than its 32-byte header`);
  const nameChars = d.readBigUInt64LE(16);
  const dataLength = d.readBigUInt64LE(24);
  const size = 32n + 2n * nameChars + dataLength;
  if (size !== BigInt(d.length)) throw fail(`declares ${size} bytes, the event has ${d.length}`);
  const nameEnd = 32 + 2 * Number(nameChars);
  return {
    guid: guidText(d.subarray(0, 16)),
    name: d.subarray(32, nameEnd).toString('utf16le'),
    data: Buffer.from(d.subarray(nameEnd)),
  };
}

/** UEFI_VARIABLE_DATA for a variable, as firmware measures it. */
export function uefiVariableData(v: { guid: string; name: string; data: Uint8Array }): Buffer {
  const head = Buffer.alloc(32);
  guidBytes(v.guid).copy(head, 0);
  head.writeBigUInt64LE(BigInt(v.name.length), 16);
  head.writeBigUInt64LE(BigInt(v.data.length), 24);
  return Buffer.concat([head, Buffer.from(v.name, 'utf16le'), v.data]);
}

export type SecureBootVariable = 'SecureBoot' | 'PK' | 'KEK' | 'db' | 'dbx';
const SECURE_BOOT_VARIABLES: Record<SecureBootVariable, string> = {
  SecureBoot: EFI_GLOBAL_VARIABLE,
  PK: EFI_GLOBAL_VARIABLE,
  KEK: EFI_GLOBAL_VARIABLE,
  db: EFI_IMAGE_SECURITY_DATABASE,
  dbx: EFI_IMAGE_SECURITY_DATABASE,
};

export interface BootState {
  /** The measured SecureBoot variable is 1; false when it is 0, empty or was not measured. */
  readonly secureBoot: boolean;
  /** The secure boot variables measured into PCR 7 before its separator, with their data. */
  readonly variables: Partial<Record<SecureBootVariable, Buffer>>;
  /** PCRs 0–7 that have a separator (data 0x00000000) — firmware's end of pre-OS measurements. */
  readonly separators: readonly number[];
}

/** The boot state the log shows, from `hash`'s digests (each checked against the event's data). */
export function bootState(log: TcgLog, hash: TcgHash): BootState {
  const variables: Partial<Record<SecureBootVariable, Buffer>> = {};
  const separators: number[] = [];
  for (const e of log.events) {
    if (e.type === EV.SEPARATOR && e.pcr < 8) {
      checkDigest(e, hash);
      if (e.data.length !== 4 || e.data.readUInt32LE(0) !== 0) {
        throw new TcgLogError(
          'bad-event-data',
          `event ${e.number} at offset ${e.offset}: the separator of PCR ${e.pcr} signals a firmware error`,
          { offset: e.offset },
        );
      }
      if (!separators.includes(e.pcr)) separators.push(e.pcr);
    }
    if (e.type === EV.EFI_VARIABLE_DRIVER_CONFIG && e.pcr === 7 && !separators.includes(7)) {
      const v = uefiVariable(e);
      const known = (Object.keys(SECURE_BOOT_VARIABLES) as SecureBootVariable[]).find(
        (k) => k === v.name && SECURE_BOOT_VARIABLES[k] === v.guid,
      );
      if (known === undefined) continue;
      checkDigest(e, hash);
      variables[known] = v.data;
    }
  }
  const sb = variables.SecureBoot;
  return { secureBoot: sb !== undefined && sb.length === 1 && sb[0] === 1, variables, separators };
}

function checkDigest(e: TcgEvent, hash: TcgHash): void {
  const digest = e.digests.get(hash);
  if (digest === undefined || !crypto.createHash(hash).update(e.data).digest().equals(digest)) {
    throw new TcgLogError(
      'bad-event-data',
      `event ${e.number} at offset ${e.offset}: its ${hash} digest is not the hash of its data`,
      { offset: e.offset, hint: 'the event data was altered after it was measured' },
    );
  }
}
