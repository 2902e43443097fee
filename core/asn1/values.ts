/** Typed decoders for primitive DER elements; each checks the tag and DER's contents rules. */
import { Asn1Error } from './errors.ts';
import { bigintToNumber, decodeIntegerContents } from './integer.ts';
import { decodeOidContents } from './oid.ts';
import { describeTag, expectUniversal, type Tlv } from './reader.ts';
import { decodeStringContents, stringTypeOfTag, type StringType } from './strings.ts';
import { UNIVERSAL } from './tags.ts';
import { decodeGeneralizedTime, decodeUtcTime } from './time.ts';

/** INTEGER as a bigint (any size, negative values included). */
export function decodeInteger(tlv: Tlv | undefined, what = 'INTEGER'): bigint {
  const t = expectUniversal(tlv, UNIVERSAL.INTEGER, what);
  return decodeIntegerContents(t.value, t.offset);
}

/** INTEGER narrowed to a number in [min, max]. */
export function decodeSmallInteger(tlv: Tlv | undefined, min: number, max: number, what = 'INTEGER'): number {
  const value = decodeInteger(tlv, what);
  return bigintToNumber(value, min, max, what, tlv?.offset);
}

export function decodeOid(tlv: Tlv | undefined, what = 'OBJECT IDENTIFIER'): string {
  const t = expectUniversal(tlv, UNIVERSAL.OBJECT_IDENTIFIER, what);
  return decodeOidContents(t.value, t.offset);
}

/** BOOLEAN; DER allows only 0x00 and 0xFF. */
export function decodeBoolean(tlv: Tlv | undefined, what = 'BOOLEAN'): boolean {
  const t = expectUniversal(tlv, UNIVERSAL.BOOLEAN, what);
  if (t.value.length !== 1 || (t.value[0] !== 0x00 && t.value[0] !== 0xff)) {
    throw new Asn1Error('bad-boolean', `${what} must be one byte 0x00 or 0xFF`, t.offset);
  }
  return t.value[0] === 0xff;
}

export function decodeNull(tlv: Tlv | undefined, what = 'NULL'): null {
  const t = expectUniversal(tlv, UNIVERSAL.NULL, what);
  if (t.value.length !== 0) throw new Asn1Error('bad-null', `${what} has contents`, t.offset);
  return null;
}

export function decodeOctetString(tlv: Tlv | undefined, what = 'OCTET STRING'): Buffer {
  return expectUniversal(tlv, UNIVERSAL.OCTET_STRING, what).value;
}

export interface BitString {
  /** Unused bits in the last byte (0–7). */
  readonly unusedBits: number;
  readonly bytes: Buffer;
}

/** BIT STRING; DER requires the unused trailing bits to be zero. */
export function decodeBitString(tlv: Tlv | undefined, what = 'BIT STRING'): BitString {
  const t = expectUniversal(tlv, UNIVERSAL.BIT_STRING, what);
  if (t.value.length === 0)
    throw new Asn1Error('bad-bit-string', `${what} has no unused-bits octet`, t.offset);
  const unusedBits = t.value[0]!;
  const bytes = t.value.subarray(1);
  if (unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new Asn1Error('bad-bit-string', `${what} declares ${unusedBits} unused bits`, t.offset);
  }
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new Asn1Error('bad-bit-string', `${what} has non-zero unused bits`, t.offset);
  }
  return { unusedBits, bytes };
}

export interface DecodedString {
  readonly type: StringType;
  readonly value: string;
}

/** Any of the character string types, reporting which one it was. */
export function decodeString(tlv: Tlv | undefined, what = 'string'): DecodedString {
  if (tlv === undefined) throw new Asn1Error('truncated', `${what} is missing`);
  const type = tlv.tagClass === 'universal' && !tlv.constructed ? stringTypeOfTag(tlv.tagNumber) : undefined;
  if (type === undefined) {
    throw new Asn1Error(
      'unexpected-tag',
      `${what}: expected a string type, got ${describeTag(tlv)}`,
      tlv.offset,
    );
  }
  return { type, value: decodeStringContents(type, tlv.value, tlv.offset) };
}

/** A string of one specific type. */
export function decodeStringOf(tlv: Tlv | undefined, type: StringType, what = `${type}String`): string {
  const s = decodeString(tlv, what);
  if (s.type !== type) {
    throw new Asn1Error(
      'unexpected-tag',
      `${what}: expected ${type}String, got ${s.type}String`,
      tlv?.offset,
    );
  }
  return s.value;
}

/** X.509 Time: UTCTime or GeneralizedTime. */
export function decodeTime(tlv: Tlv | undefined, what = 'Time'): Date {
  if (tlv !== undefined && tlv.tagClass === 'universal' && tlv.tagNumber === UNIVERSAL.GENERALIZED_TIME) {
    const t = expectUniversal(tlv, UNIVERSAL.GENERALIZED_TIME, what);
    return decodeGeneralizedTime(t.value, t.offset);
  }
  const t = expectUniversal(tlv, UNIVERSAL.UTC_TIME, what);
  return decodeUtcTime(t.value, t.offset);
}
