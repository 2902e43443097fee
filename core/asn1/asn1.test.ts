import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testdata } from '../../test/support/paths.ts';
import { isErrorOf } from '../errors.ts';
import {
  Asn1Error,
  type Asn1ErrorKind,
  bitString,
  boolean,
  children,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeNull,
  decodeOid,
  decodeSmallInteger,
  decodeString,
  decodeStringOf,
  decodeTime,
  encodeTag,
  explicit,
  generalizedTime,
  ia5String,
  implicit,
  integer,
  nullValue,
  octetString,
  oid,
  parseDer,
  parseTree,
  printableString,
  readTlv,
  sequence,
  set,
  time,
  unsignedInteger,
  utcTime,
  utf8String,
} from './index.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function expectAsn1Error(fn: () => unknown, kind: Asn1ErrorKind): Asn1Error {
  try {
    fn();
  } catch (err) {
    expect(isErrorOf(err, Asn1Error, kind), String(err)).toBe(true);
    return err as Asn1Error;
  }
  throw new Error(`expected Asn1Error ${kind}`);
}

describe('INTEGER', () => {
  const vectors: [bigint, string][] = [
    [0n, '020100'],
    [1n, '020101'],
    [127n, '02017f'],
    [128n, '02020080'],
    [210n, '020200d2'],
    [255n, '020200ff'],
    [256n, '02020100'],
    [65537n, '0203010001'],
    [-1n, '0201ff'],
    [-128n, '020180'],
    [-129n, '0202ff7f'],
    [-256n, '0202ff00'],
    [-32768n, '02028000'],
    [-32769n, '0203ff7fff'],
    [2n ** 64n, '0209010000000000000000'],
  ];
  it.each(vectors)('encodes and decodes %s as %s', (value, der) => {
    expect(integer(value).toString('hex')).toBe(der);
    expect(decodeInteger(parseDer(hex(der)))).toBe(value);
  });

  it('agrees with OpenSSL on a real RSA modulus (a 513-byte INTEGER with a leading 0x00)', () => {
    const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = publicKey.export({ format: 'jwk' });
    const n = Buffer.from(jwk.n!, 'base64url');
    const spki = publicKey.export({ type: 'pkcs1', format: 'der' });
    const [modulus, exponent] = children(parseDer(spki));
    expect(decodeInteger(modulus)).toBe(BigInt(`0x${n.toString('hex')}`));
    expect(unsignedInteger(n).equals(modulus!.raw)).toBe(true);
    expect(decodeInteger(exponent)).toBe(65537n);
  });

  it('adds the sign byte for unsigned magnitudes and drops redundant zeros', () => {
    expect(unsignedInteger(hex('d2')).toString('hex')).toBe('020200d2');
    expect(unsignedInteger(hex('0000d2')).toString('hex')).toBe('020200d2');
    expect(unsignedInteger(hex('00000001')).toString('hex')).toBe('020101');
    expect(unsignedInteger(Buffer.alloc(0)).toString('hex')).toBe('020100');
  });

  it('rejects non-minimal and empty INTEGERs', () => {
    expectAsn1Error(() => decodeInteger(parseDer(hex('0202007f'))), 'bad-integer');
    expectAsn1Error(() => decodeInteger(parseDer(hex('0202ff80'))), 'bad-integer');
    expectAsn1Error(() => decodeInteger(parseDer(hex('0200'))), 'bad-integer');
  });

  it('narrows to a range', () => {
    expect(decodeSmallInteger(parseDer(hex('020200d2')), 0, 255)).toBe(210);
    expectAsn1Error(() => decodeSmallInteger(parseDer(hex('02020100')), 0, 255), 'integer-out-of-range');
    expectAsn1Error(() => decodeSmallInteger(parseDer(hex('0201ff')), 0, 255), 'integer-out-of-range');
    expectAsn1Error(() => integer(2 ** 60), 'integer-out-of-range');
  });
});

describe('OBJECT IDENTIFIER', () => {
  const vectors: [string, string][] = [
    ['1.2.840.113549.1.1.10', '06092a864886f70d01010a'],
    ['1.3.6.1.4.1.3704.1.3.8', '060a2b060104019c78010308'],
    ['2.5.29.19', '0603551d13'],
    ['2.999.3', '0603883703'],
    ['0.9.2342.19200300.100.1.1', '060a0992268993f22c640101'],
  ];
  it.each(vectors)('round trips %s', (dotted, der) => {
    expect(oid(dotted).toString('hex')).toBe(der);
    expect(decodeOid(parseDer(hex(der)))).toBe(dotted);
  });

  it('rejects bad text and bad contents', () => {
    for (const bad of ['1', '3.1', '1.40', '1.2.03', '1..2', 'a.b'])
      expectAsn1Error(() => oid(bad), 'bad-oid');
    expectAsn1Error(() => decodeOid(parseDer(hex('0600'))), 'bad-oid');
    expectAsn1Error(() => decodeOid(parseDer(hex('06022a86'))), 'bad-oid');
    expectAsn1Error(() => decodeOid(parseDer(hex('06032a8001'))), 'bad-oid');
  });
});

describe('TLV reader', () => {
  it('reads class, form, number and long lengths', () => {
    const body = Buffer.alloc(300, 7);
    const t = parseDer(Buffer.concat([hex('a482012c'), body]));
    expect(t).toMatchObject({ tagClass: 'context', constructed: true, tagNumber: 4, headerLength: 4 });
    expect(t.value.equals(body)).toBe(true);
    const high = parseDer(hex('9f2a0101'));
    expect(high).toMatchObject({ tagClass: 'context', constructed: false, tagNumber: 42 });
    expect(encodeTag(high).toString('hex')).toBe('9f2a');
    expect(parseDer(hex('5f8101 00'))).toMatchObject({ tagClass: 'application', tagNumber: 129 });
    expect(parseDer(hex('c100'))).toMatchObject({ tagClass: 'private', tagNumber: 1 });
  });

  it('parses a tree with absolute offsets', () => {
    const der = sequence(integer(5), sequence(oid('2.5.29.19'), boolean(true)), octetString(hex('0102')));
    const tree = parseTree(der);
    expect(tree.children).toHaveLength(3);
    const inner = tree.children![1]!;
    expect(inner.children!.map((c) => c.tlv.tagNumber)).toEqual([6, 1]);
    expect(inner.children![1]!.tlv.offset).toBe(der.indexOf(hex('0101ff')));
    expect(tree.children![2]!.children).toBeUndefined();
  });

  const bad: [string, string, Asn1ErrorKind][] = [
    ['indefinite length', '308000000000', 'indefinite-length'],
    ['reserved length octet', '30ff', 'indefinite-length'],
    ['long form for a short length', '04810101', 'non-minimal-encoding'],
    ['leading zero length octet', '0482000101', 'non-minimal-encoding'],
    ['high tag form for a low number', '1f0100', 'non-minimal-encoding'],
    ['high tag number with a zero digit', '1f800100', 'non-minimal-encoding'],
    ['contents cut short', '040501', 'truncated'],
    ['length cut short', '0482', 'truncated'],
    ['empty input', '', 'truncated'],
    ['too many length octets', '04850100000000', 'length-too-large'],
    ['trailing bytes', '050000', 'trailing-data'],
  ];
  it.each(bad)('rejects %s', (_name, der, kind) => {
    expectAsn1Error(() => parseDer(hex(der)), kind);
  });

  it('rejects a child that overruns its parent', () => {
    const err = expectAsn1Error(() => parseTree(hex('3003 0402 01')), 'truncated');
    expect(err.offset).toBe(2);
    expect(expectAsn1Error(() => parseTree(hex('3003 0402 0102 03')), 'trailing-data').offset).toBe(5);
  });

  it('reads one element and leaves the rest', () => {
    const t = readTlv(hex('0500 0101ff'), 2);
    expect(decodeBoolean(t)).toBe(true);
  });

  it('parses every certificate in the real AMD chain and finds the RSA-PSS parameters', () => {
    const pem = readFileSync(testdata('amd-roots/milan-ask-ark.pem'), 'utf8');
    const ark = new crypto.X509Certificate(pem.slice(pem.lastIndexOf('-----BEGIN')));
    const tree = parseTree(ark.raw);
    const sigAlg = tree.children![1]!;
    expect(decodeOid(sigAlg.children![0]!.tlv)).toBe('1.2.840.113549.1.1.10');
    const params = children(sigAlg.children![1]!.tlv);
    expect(decodeSmallInteger(children(params[2]!)[0], 0, 1000)).toBe(48);
  });
});

describe('primitive values', () => {
  it('BOOLEAN and NULL follow DER', () => {
    expect(boolean(true).toString('hex')).toBe('0101ff');
    expect(decodeBoolean(parseDer(hex('010100')))).toBe(false);
    expectAsn1Error(() => decodeBoolean(parseDer(hex('010101'))), 'bad-boolean');
    expect(decodeNull(parseDer(nullValue()))).toBeNull();
    expectAsn1Error(() => decodeNull(parseDer(hex('050100'))), 'bad-null');
  });

  it('BIT STRING keeps unused bits and rejects set padding bits', () => {
    expect(decodeBitString(parseDer(bitString(hex('a0'), 5)))).toEqual({ unusedBits: 5, bytes: hex('a0') });
    expectAsn1Error(() => decodeBitString(parseDer(hex('030205a1'))), 'bad-bit-string');
    expectAsn1Error(() => decodeBitString(parseDer(hex('030108'))), 'bad-bit-string');
    expectAsn1Error(() => bitString(hex('01'), 1), 'bad-bit-string');
  });

  it('strings check their character sets', () => {
    expect(decodeString(parseDer(utf8String('Zürich')))).toEqual({ type: 'utf8', value: 'Zürich' });
    expect(decodeStringOf(parseDer(ia5String('Milan-B0')), 'ia5')).toBe('Milan-B0');
    expect(printableString('US').toString('hex')).toBe('13025553');
    expectAsn1Error(() => printableString('a@b'), 'bad-string');
    expectAsn1Error(() => ia5String('é'), 'bad-string');
    expectAsn1Error(() => decodeString(parseDer(hex('0c02c328'))), 'bad-string');
    expectAsn1Error(() => decodeStringOf(parseDer(utf8String('x')), 'ia5'), 'unexpected-tag');
    expectAsn1Error(() => decodeString(parseDer(hex('0400'))), 'unexpected-tag');
  });

  it('wrong tags are reported with their offset', () => {
    const err = expectAsn1Error(
      () => decodeInteger(children(parseDer(sequence(nullValue(), octetString(hex('01')))))[1]),
      'unexpected-tag',
    );
    expect(err.offset).toBe(4);
  });
});

describe('times', () => {
  it('chooses UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280)', () => {
    const d2049 = new Date('2049-12-31T23:59:59Z');
    const d2050 = new Date('2050-01-01T00:00:00Z');
    expect(time(d2049).toString('latin1').slice(2)).toBe('491231235959Z');
    expect(time(d2049)[0]).toBe(23);
    expect(time(d2050)[0]).toBe(24);
    expect(time(d2050).toString('latin1').slice(2)).toBe('20500101000000Z');
    expect(time(new Date('1949-06-01T00:00:00Z'))[0]).toBe(24);
    expect(decodeTime(parseDer(time(d2050))).toISOString()).toBe(d2050.toISOString());
    expect(decodeTime(parseDer(utcTime(new Date('1950-01-01T00:00:00Z')))).getUTCFullYear()).toBe(1950);
    expect(decodeTime(parseDer(generalizedTime(new Date('0099-03-04T05:06:07Z')))).toISOString()).toBe(
      '0099-03-04T05:06:07.000Z',
    );
  });

  it('drops milliseconds and rejects forms RFC 5280 forbids', () => {
    expect(utcTime(new Date('2030-01-02T03:04:05.678Z')).toString('latin1').slice(2)).toBe('300102030405Z');
    const der = (tag: number, s: string): Buffer =>
      Buffer.concat([Buffer.from([tag, s.length]), Buffer.from(s)]);
    expectAsn1Error(() => decodeTime(parseDer(der(23, '3001020304Z'))), 'bad-time');
    expectAsn1Error(() => decodeTime(parseDer(der(23, '300102030405+0100'))), 'bad-time');
    expectAsn1Error(() => decodeTime(parseDer(der(24, '20300102030405.5Z'))), 'bad-time');
    expectAsn1Error(() => decodeTime(parseDer(der(23, '300230000000Z'))), 'bad-time');
    expectAsn1Error(() => utcTime(new Date('2050-01-01T00:00:00Z')), 'bad-time');
  });
});

describe('constructed writers', () => {
  it('sorts SET elements by encoding', () => {
    const s = set(integer(300), integer(1), octetString(hex('00')));
    expect(children(parseDer(s)).map((c) => c.raw.toString('hex'))).toEqual(['020101', '0202012c', '040100']);
  });

  it('writes explicit and implicit context tags', () => {
    expect(explicit(0, integer(2)).toString('hex')).toBe('a003020102');
    expect(implicit(0, octetString(hex('abcd'))).toString('hex')).toBe('8002abcd');
    expect(implicit(1, sequence(integer(1))).toString('hex')).toBe('a103020101');
    expect(sequence(Buffer.alloc(200)).subarray(0, 3).toString('hex')).toBe('3081c8');
  });
});
