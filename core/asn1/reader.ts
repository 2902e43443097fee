/**
 * Strict DER reader: tag-length-value elements with definite, minimal lengths. Every element keeps
 * its offset in the original input so errors can say where the bytes are wrong.
 */
import { Asn1Error } from './errors.ts';
import { TAG_CLASSES, type Tag, type TagClass } from './tags.ts';

/** One DER element. `value` and `raw` are views into the input, not copies. */
export interface Tlv extends Tag {
  /** Offset of the first identifier octet in the top-level input. */
  readonly offset: number;
  /** Identifier plus length octets. */
  readonly headerLength: number;
  /** Contents octets. */
  readonly value: Buffer;
  /** The whole element: identifier, length and contents. */
  readonly raw: Buffer;
}

/** A parsed element and, for constructed ones, its parsed children. */
export interface Asn1Node {
  readonly tlv: Tlv;
  readonly children: readonly Asn1Node[] | undefined;
}

// Four length octets already allow 4 GiB; anything larger cannot be a certificate or a report.
const MAX_LENGTH_OCTETS = 4;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads the element starting at `start` in `input`. Bytes after it are left alone; `base` is added
 * to every reported offset (used when `input` is itself a slice of a larger buffer).
 */
export function readTlv(input: Uint8Array, start = 0, base = 0): Tlv {
  const buf = asBuffer(input);
  let pos = start;
  const at = base + start;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) throw new Asn1Error('truncated', `input ends inside the ${what}`, at);
  };

  need(1, 'identifier octet');
  const first = buf[pos++]!;
  const tagClass: TagClass = TAG_CLASSES[first >> 6]!;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    // High tag number form: base-128 digits, most significant first, no leading 0x80 digit.
    tagNumber = 0;
    need(1, 'tag number');
    if (buf[pos] === 0x80)
      throw new Asn1Error('non-minimal-encoding', 'tag number has a leading zero digit', at);
    for (;;) {
      need(1, 'tag number');
      const b = buf[pos++]!;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (tagNumber > 0x1fffffff) throw new Asn1Error('length-too-large', 'tag number too large', at);
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 0x1f) {
      throw new Asn1Error('non-minimal-encoding', `tag number ${tagNumber} must use the short form`, at);
    }
  }

  need(1, 'length octet');
  const lengthByte = buf[pos++]!;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else if (lengthByte === 0x80) {
    throw new Asn1Error('indefinite-length', 'indefinite length is not allowed in DER', at);
  } else if (lengthByte === 0xff) {
    throw new Asn1Error('indefinite-length', 'length octet 0xFF is reserved', at);
  } else {
    const n = lengthByte & 0x7f;
    if (n > MAX_LENGTH_OCTETS) throw new Asn1Error('length-too-large', `${n} length octets`, at);
    need(n, 'length');
    if (buf[pos] === 0) throw new Asn1Error('non-minimal-encoding', 'length has a leading zero octet', at);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80) {
      throw new Asn1Error('non-minimal-encoding', `length ${length} must use the short form`, at);
    }
  }

  const headerLength = pos - start;
  if (pos + length > buf.length) {
    throw new Asn1Error(
      'truncated',
      `element declares ${length} content bytes but only ${buf.length - pos} remain`,
      at,
    );
  }
  return {
    tagClass,
    constructed,
    tagNumber,
    offset: at,
    headerLength,
    value: buf.subarray(pos, pos + length),
    raw: buf.subarray(start, pos + length),
  };
}

/** Parses input that must be exactly one DER element. */
export function parseDer(input: Uint8Array, base = 0): Tlv {
  const tlv = readTlv(input, 0, base);
  if (tlv.raw.length !== input.length) {
    throw new Asn1Error(
      'trailing-data',
      `${input.length - tlv.raw.length} bytes after the DER element`,
      base + tlv.raw.length,
    );
  }
  return tlv;
}

/** The elements inside a constructed element, in order. */
export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) {
    throw new Asn1Error('unexpected-tag', `${describeTag(tlv)} is primitive and has no children`, tlv.offset);
  }
  const out: Tlv[] = [];
  const contentBase = tlv.offset + tlv.headerLength;
  let pos = 0;
  while (pos < tlv.value.length) {
    const child = readTlv(tlv.value, pos, contentBase);
    out.push(child);
    pos += child.raw.length;
  }
  return out;
}

/** Parses a whole DER element into a tree (constructed elements are descended into). */
export function parseTree(input: Uint8Array): Asn1Node {
  return toNode(parseDer(input));
}

function toNode(tlv: Tlv): Asn1Node {
  return { tlv, children: tlv.constructed ? children(tlv).map(toNode) : undefined };
}

/** `universal 16 (constructed)`-style text for messages. */
export function describeTag(tag: Tag): string {
  return `${tag.tagClass} ${tag.tagNumber} (${tag.constructed ? 'constructed' : 'primitive'})`;
}

/** True when `tlv` has the universal tag `tagNumber`. */
export function isUniversal(tlv: Tag, tagNumber: number): boolean {
  return tlv.tagClass === 'universal' && tlv.tagNumber === tagNumber;
}

/** True when `tlv` is context-specific `[tagNumber]`. */
export function isContext(tlv: Tag, tagNumber: number): boolean {
  return tlv.tagClass === 'context' && tlv.tagNumber === tagNumber;
}

/**
 * Asserts the element's tag. `constructed` defaults to what DER requires for the universal types
 * (SEQUENCE and SET constructed, everything else here primitive).
 */
export function expectTag(
  tlv: Tlv | undefined,
  tagClass: TagClass,
  tagNumber: number,
  what: string,
  constructed?: boolean,
): Tlv {
  if (tlv === undefined) throw new Asn1Error('truncated', `${what} is missing`);
  const wantConstructed = constructed ?? (tagClass === 'universal' && (tagNumber === 16 || tagNumber === 17));
  if (tlv.tagClass !== tagClass || tlv.tagNumber !== tagNumber || tlv.constructed !== wantConstructed) {
    throw new Asn1Error(
      'unexpected-tag',
      `${what}: expected ${describeTag({ tagClass, tagNumber, constructed: wantConstructed })}, got ${describeTag(tlv)}`,
      tlv.offset,
    );
  }
  return tlv;
}

/** `expectTag` for universal types. */
export function expectUniversal(tlv: Tlv | undefined, tagNumber: number, what: string): Tlv {
  return expectTag(tlv, 'universal', tagNumber, what);
}
