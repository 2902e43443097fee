/**
 * INTEGER contents (X.690 §8.3): two's complement, big-endian, minimal. DER forbids a leading 0x00
 * before a byte below 0x80 and a leading 0xFF before a byte of 0x80 or more.
 */
import { Asn1Error } from './errors.ts';

/** Decodes INTEGER contents octets to a bigint, rejecting empty and non-minimal encodings. */
export function decodeIntegerContents(contents: Uint8Array, offset?: number): bigint {
  if (contents.length === 0) throw new Asn1Error('bad-integer', 'INTEGER has no contents', offset);
  const b0 = contents[0]!;
  if (contents.length > 1) {
    const b1 = contents[1]!;
    if ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) {
      throw new Asn1Error('bad-integer', 'INTEGER is not minimally encoded', offset);
    }
  }
  let value = BigInt(`0x${Buffer.from(contents).toString('hex')}`);
  if (b0 & 0x80) value -= 1n << BigInt(contents.length * 8);
  return value;
}

/** Encodes a bigint as minimal two's complement INTEGER contents. */
export function encodeIntegerContents(value: bigint): Buffer {
  if (value >= 0n) {
    let hex = value.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    const bytes = Buffer.from(hex, 'hex');
    // A set top bit would read as negative: prefix a zero byte.
    return bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  }
  // Smallest n with -2^(8n-1) <= value, then the n-byte two's complement.
  let n = 1;
  while (value < -(1n << BigInt(8 * n - 1))) n++;
  const twos = (1n << BigInt(8 * n)) + value;
  return Buffer.from(twos.toString(16).padStart(2 * n, '0'), 'hex');
}

/**
 * INTEGER contents for an unsigned big-endian magnitude (serial numbers, key components): leading
 * zero bytes are dropped and one 0x00 is added back when the top bit is set.
 */
export function unsignedIntegerContents(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = Buffer.from(magnitude.subarray(i));
  if (trimmed.length === 0) return Buffer.from([0]);
  return trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/** Narrows a bigint to a JavaScript number within [min, max]. */
export function bigintToNumber(
  value: bigint,
  min: number,
  max: number,
  what: string,
  offset?: number,
): number {
  if (value < BigInt(min) || value > BigInt(max)) {
    throw new Asn1Error('integer-out-of-range', `${what} ${value} is outside ${min}..${max}`, offset);
  }
  return Number(value);
}
