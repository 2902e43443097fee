/**
 * The GHCB certificate table (GHCB spec 56421; the extended report's certificates and configfs
 * `auxblob`): 24-byte entries `{ GUID[16], offset u32 LE, length u32 LE }` ended by an all-zero
 * entry, offsets relative to the table start. GUID bytes are in RFC 4122 (string) order.
 */
import { SnpFormatError } from './errors.ts';

export const CERT_TABLE_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  /** The ASK, and in VLEK chains the ASVK. */
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
  crl: '92f81bc3-5811-4d3d-97ff-d19f88dc67ea',
} as const;

export type CertTableName = keyof typeof CERT_TABLE_GUIDS;

export interface CertTableEntry {
  /** Lower-case 8-4-4-4-12 text. */
  readonly guid: string;
  readonly data: Buffer;
}

const ENTRY = 24;
const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function guidText(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function guidBytes(text: string): Buffer {
  const lower = text.toLowerCase();
  if (!GUID_TEXT.test(lower)) throw new SnpFormatError('bad-cert-table', `"${text}" is not a GUID`);
  return Buffer.from(lower.replaceAll('-', ''), 'hex');
}

const fail = (message: string, offset?: number): SnpFormatError =>
  new SnpFormatError('bad-cert-table', message, offset === undefined ? {} : { offset });

/**
 * Parses a certificate table. Bytes after the last certificate are allowed (the kernel hands over
 * page-sized buffers); every entry must point past the header and inside the buffer.
 */
export function parseCertTable(table: Uint8Array): CertTableEntry[] {
  const b = Buffer.from(table);
  const headers: { guid: string; offset: number; length: number; at: number }[] = [];
  for (let at = 0; ; at += ENTRY) {
    if (at + ENTRY > b.length) throw fail('certificate table ends before its all-zero terminator entry', at);
    const guid = b.subarray(at, at + 16);
    const offset = b.readUInt32LE(at + 16);
    const length = b.readUInt32LE(at + 20);
    if (guid.every((x) => x === 0)) {
      if (offset !== 0 || length !== 0) throw fail('terminator entry has a non-zero offset or length', at);
      break;
    }
    headers.push({ guid: guidText(guid), offset, length, at });
  }
  const headerEnd = (headers.length + 1) * ENTRY;
  const seen = new Set<string>();
  return headers.map((h) => {
    if (seen.has(h.guid)) throw fail(`GUID ${h.guid} appears twice`, h.at);
    seen.add(h.guid);
    if (h.offset < headerEnd)
      throw fail(`entry ${h.guid} points into the table header (offset ${h.offset})`, h.at);
    if (h.offset + h.length > b.length) {
      throw fail(
        `entry ${h.guid} (offset ${h.offset}, length ${h.length}) runs past the ${b.length}-byte buffer`,
        h.at,
      );
    }
    return { guid: h.guid, data: Buffer.from(b.subarray(h.offset, h.offset + h.length)) };
  });
}

/** Builds a table: headers, terminator, then each entry's data in order. */
export function buildCertTable(entries: readonly CertTableEntry[]): Buffer {
  const seen = new Set<string>();
  const headers: Buffer[] = [];
  let offset = (entries.length + 1) * ENTRY;
  for (const e of entries) {
    const guid = guidBytes(e.guid);
    if (guid.every((x) => x === 0)) throw fail('the all-zero GUID is the terminator and cannot be an entry');
    const key = guidText(guid);
    if (seen.has(key)) throw fail(`GUID ${key} given twice`);
    seen.add(key);
    const h = Buffer.alloc(ENTRY);
    guid.copy(h, 0);
    h.writeUInt32LE(offset, 16);
    h.writeUInt32LE(e.data.length, 20);
    headers.push(h);
    offset += e.data.length;
  }
  return Buffer.concat([...headers, Buffer.alloc(ENTRY), ...entries.map((e) => e.data)]);
}

/** The data of the entry with a well-known name, or undefined. */
export function findCertTableEntry(
  entries: readonly CertTableEntry[],
  name: CertTableName,
): Buffer | undefined {
  return entries.find((e) => e.guid === CERT_TABLE_GUIDS[name])?.data;
}
