import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildCertTable,
  CERT_TABLE_GUIDS,
  findCertTableEntry,
  parseCertTable,
  SnpFormatError,
} from './index.ts';
import { expectKind, realChain } from '../../test/support/snp.ts';

const entries = [
  { guid: CERT_TABLE_GUIDS.vcek, data: realChain.vcek.raw },
  { guid: CERT_TABLE_GUIDS.ask, data: realChain.ask.raw },
  { guid: CERT_TABLE_GUIDS.ark, data: realChain.ark.raw },
];

describe('GHCB certificate table', () => {
  it('builds 24-byte headers with RFC 4122 GUID bytes, a zero terminator, then the data', () => {
    const table = buildCertTable(entries);
    expect(table.subarray(0, 16).toString('hex')).toBe('63da758de6644564adc5f4b93be8accd');
    expect(table.readUInt32LE(16)).toBe(4 * 24);
    expect(table.readUInt32LE(20)).toBe(realChain.vcek.raw.length);
    expect(table.readUInt32LE(24 + 16)).toBe(4 * 24 + realChain.vcek.raw.length);
    expect(table.subarray(72, 96).every((b) => b === 0)).toBe(true);
    expect(table.length).toBe(96 + entries.reduce((n, e) => n + e.data.length, 0));
  });

  it('parses what it builds, also from a zero-padded page-sized buffer', () => {
    const table = buildCertTable(entries);
    const page = Buffer.concat([table, Buffer.alloc(16384 - table.length)]);
    for (const bytes of [table, page]) {
      const parsed = parseCertTable(bytes);
      expect(parsed).toEqual(entries.map((e) => ({ guid: e.guid, data: Buffer.from(e.data) })));
      expect(findCertTableEntry(parsed, 'ark')!.equals(realChain.ark.raw)).toBe(true);
      expect(findCertTableEntry(parsed, 'vlek')).toBeUndefined();
    }
    expect(parseCertTable(Buffer.alloc(24))).toEqual([]);
  });

  it('keeps unknown GUIDs', () => {
    const guid = crypto.randomUUID();
    expect(parseCertTable(buildCertTable([{ guid, data: Buffer.from('x') }]))).toEqual([
      { guid, data: Buffer.from('x') },
    ]);
  });

  it('rejects tables that are unterminated, overlapping or out of bounds', () => {
    const table = buildCertTable(entries);
    expectKind(() => parseCertTable(table.subarray(0, 80)), SnpFormatError, 'bad-cert-table');
    const past = Buffer.from(table);
    past.writeUInt32LE(table.length, 20);
    expectKind(() => parseCertTable(past), SnpFormatError, 'bad-cert-table');
    const intoHeader = Buffer.from(table);
    intoHeader.writeUInt32LE(48, 16);
    expectKind(() => parseCertTable(intoHeader), SnpFormatError, 'bad-cert-table');
    const dirtyTerminator = Buffer.from(table);
    dirtyTerminator.writeUInt32LE(1, 72 + 20);
    expectKind(() => parseCertTable(dirtyTerminator), SnpFormatError, 'bad-cert-table');
    const duplicate = Buffer.from(table);
    table.copy(duplicate, 24, 0, 16);
    expectKind(() => parseCertTable(duplicate), SnpFormatError, 'bad-cert-table');
  });

  it('refuses to build bad entries', () => {
    expectKind(
      () => buildCertTable([{ guid: 'nope', data: Buffer.alloc(1) }]),
      SnpFormatError,
      'bad-cert-table',
    );
    expectKind(
      () => buildCertTable([{ guid: '00000000-0000-0000-0000-000000000000', data: Buffer.alloc(1) }]),
      SnpFormatError,
      'bad-cert-table',
    );
    expectKind(() => buildCertTable([entries[0]!, entries[0]!]), SnpFormatError, 'bad-cert-table');
  });
});
