/**
 * DER writer: each function returns one complete element. Lengths are always definite and minimal,
 * INTEGERs minimal two's complement, SET contents sorted (X.690 §11.6), times per RFC 5280.
 */
import { Asn1Error } from './errors.ts';
import { encodeIntegerContents, unsignedIntegerContents } from './integer.ts';
import { encodeOidContents } from './oid.ts';
import { readTlv } from './reader.ts';
import { encodeStringContents, STRING_TAGS, type StringType } from './strings.ts';
import { TAG_CLASSES, UNIVERSAL, type Tag } from './tags.ts';
import { encodeGeneralizedTimeContents, encodeUtcTimeContents, usesUtcTime } from './time.ts';

/** Identifier octets for a tag (high tag numbers in base 128). */
export function encodeTag(tag: Tag): Buffer {
  const classBits = TAG_CLASSES.indexOf(tag.tagClass) << 6;
  const form = tag.constructed ? 0x20 : 0;
  if (!Number.isInteger(tag.tagNumber) || tag.tagNumber < 0) {
    throw new Asn1Error('unexpected-tag', `invalid tag number ${tag.tagNumber}`);
  }
  if (tag.tagNumber < 0x1f) return Buffer.from([classBits | form | tag.tagNumber]);
  const digits = [tag.tagNumber & 0x7f];
  for (let n = Math.floor(tag.tagNumber / 128); n > 0; n = Math.floor(n / 128))
    digits.unshift((n & 0x7f) | 0x80);
  return Buffer.from([classBits | form | 0x1f, ...digits]);
}

/** Length octets in the shortest form. */
export function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A complete element from a tag and contents octets. */
export function encodeTlv(tag: Tag, contents: Uint8Array): Buffer {
  return Buffer.concat([encodeTag(tag), encodeLength(contents.length), contents]);
}

const universal = (tagNumber: number, contents: Uint8Array, constructed = false): Buffer =>
  encodeTlv({ tagClass: 'universal', constructed, tagNumber }, contents);

export function sequence(...elements: Uint8Array[]): Buffer {
  return universal(UNIVERSAL.SEQUENCE, Buffer.concat(elements), true);
}

/**
 * SET / SET OF with its elements in DER order: ascending by encoding, the shorter one padded with
 * zero octets for the comparison (X.690 §11.6). For a SET of differently tagged elements this is
 * also tag order.
 */
export function set(...elements: Uint8Array[]): Buffer {
  const sorted = [...elements].sort(compareDer);
  return universal(UNIVERSAL.SET, Buffer.concat(sorted), true);
}

function compareDer(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** INTEGER from a bigint or a safe integer, negative values included. */
export function integer(value: bigint | number): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new Asn1Error('integer-out-of-range', `${value} is not a safe integer; pass a bigint`);
  }
  return universal(UNIVERSAL.INTEGER, encodeIntegerContents(BigInt(value)));
}

/** INTEGER from an unsigned big-endian magnitude (a 0x00 is added when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  return universal(UNIVERSAL.INTEGER, unsignedIntegerContents(magnitude));
}

export function oid(dotted: string): Buffer {
  return universal(UNIVERSAL.OBJECT_IDENTIFIER, encodeOidContents(dotted));
}

export function octetString(bytes: Uint8Array): Buffer {
  return universal(UNIVERSAL.OCTET_STRING, bytes);
}

/** BIT STRING; the unused trailing bits of the last byte must already be zero. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (
    !Number.isInteger(unusedBits) ||
    unusedBits < 0 ||
    unusedBits > 7 ||
    (bytes.length === 0 && unusedBits)
  ) {
    throw new Asn1Error('bad-bit-string', `invalid unused-bits count ${unusedBits}`);
  }
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new Asn1Error('bad-bit-string', 'unused bits of the last byte must be zero in DER');
  }
  return universal(UNIVERSAL.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

export function nullValue(): Buffer {
  return universal(UNIVERSAL.NULL, Buffer.alloc(0));
}

export function boolean(value: boolean): Buffer {
  return universal(UNIVERSAL.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

/** A character string of the given type; characters the type cannot hold are rejected. */
export function string(type: StringType, text: string): Buffer {
  return universal(STRING_TAGS[type], encodeStringContents(type, text));
}

export const ia5String = (text: string): Buffer => string('ia5', text);
export const utf8String = (text: string): Buffer => string('utf8', text);
export const printableString = (text: string): Buffer => string('printable', text);

export function utcTime(date: Date): Buffer {
  return universal(UNIVERSAL.UTC_TIME, encodeUtcTimeContents(date));
}

export function generalizedTime(date: Date): Buffer {
  return universal(UNIVERSAL.GENERALIZED_TIME, encodeGeneralizedTimeContents(date));
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function time(date: Date): Buffer {
  return usesUtcTime(date) ? utcTime(date) : generalizedTime(date);
}

/** `[n] EXPLICIT`: a constructed context-specific element wrapping complete elements. */
export function explicit(tagNumber: number, ...inner: Uint8Array[]): Buffer {
  return encodeTlv({ tagClass: 'context', constructed: true, tagNumber }, Buffer.concat(inner));
}

/**
 * `[n] IMPLICIT`: the element's own tag replaced by context tag `n`, keeping its form (primitive or
 * constructed) and contents.
 */
export function implicit(tagNumber: number, element: Uint8Array): Buffer {
  const t = readTlv(element);
  if (t.raw.length !== element.length) throw new Asn1Error('trailing-data', 'implicit() takes one element');
  return encodeTlv({ tagClass: 'context', constructed: t.constructed, tagNumber }, t.value);
}

/** A primitive context-specific element with the given contents (e.g. GeneralName dNSName [2]). */
export function contextPrimitive(tagNumber: number, contents: Uint8Array): Buffer {
  return encodeTlv({ tagClass: 'context', constructed: false, tagNumber }, contents);
}
