/**
 * The CBOR subset COSE needs (RFC 8949): unsigned and negative integers, byte and text strings,
 * arrays, maps, tags, false/true/null/undefined. Definite lengths only (COSE's deterministic encoding
 * uses nothing else), no floats. Decoding is bounded — nesting depth, item count, and every length
 * checked against the bytes left before anything is allocated — so hostile input fails fast with a
 * CoseError naming the offset.
 */
import { CoseError } from './errors.ts';

export class CborTag {
  readonly tag: number;
  readonly value: CborValue;
  constructor(tag: number, value: CborValue) {
    this.tag = tag;
    this.value = value;
  }
}

/** Integers beyond 2^53 stay bigint; map keys keep their decoded form (numbers or strings). */
export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | undefined
  | CborValue[]
  | Map<CborValue, CborValue>
  | CborTag;

export interface CborLimits {
  /** Arrays, maps and tags nested deeper than this are refused. Default 16. */
  readonly maxDepth?: number;
  /** Items in the whole input. Default 10,000. */
  readonly maxItems?: number;
}

/** Decodes exactly one CBOR item filling `bytes`. */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits = {}): CborValue {
  const reader = new Reader(bytes, limits.maxDepth ?? 16, limits.maxItems ?? 10_000);
  const value = reader.item(0);
  if (reader.pos !== bytes.length) {
    throw new CoseError('bad-cbor', `${bytes.length - reader.pos} bytes follow the CBOR item`, {
      offset: reader.pos,
    });
  }
  return value;
}

class Reader {
  pos = 0;
  #items = 0;
  readonly #b: Uint8Array;
  readonly #view: DataView;
  readonly #maxDepth: number;
  readonly #maxItems: number;

  constructor(bytes: Uint8Array, maxDepth: number, maxItems: number) {
    this.#b = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#maxDepth = maxDepth;
    this.#maxItems = maxItems;
  }

  #fail(message: string, offset = this.pos): never {
    throw new CoseError('bad-cbor', message, { offset });
  }

  #need(n: number): void {
    if (n > this.#b.length - this.pos) {
      this.#fail(`needs ${n} more bytes at offset ${this.pos}, ${this.#b.length - this.pos} left`);
    }
  }

  /** The argument of a head with additional information `info`, as a number or bigint. */
  #argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      this.#fail(
        info === 31 ? 'indefinite lengths are not supported' : `reserved additional information ${info}`,
        start,
      );
    }
    this.#need(size);
    const at = this.pos;
    this.pos += size;
    if (size === 1) return this.#view.getUint8(at);
    if (size === 2) return this.#view.getUint16(at);
    if (size === 4) return this.#view.getUint32(at);
    const big = this.#view.getBigUint64(at);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  #length(info: number, start: number): number {
    const n = this.#argument(info, start);
    if (typeof n === 'bigint') this.#fail('a length beyond 2^53', start);
    return n;
  }

  item(depth: number): CborValue {
    if (++this.#items > this.#maxItems) this.#fail(`more than ${this.#maxItems} items`);
    this.#need(1);
    const start = this.pos;
    const head = this.#b[this.pos++]!;
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
        return this.#argument(info, start);
      case 1: {
        const n = this.#argument(info, start);
        return typeof n === 'bigint' || n >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2:
      case 3: {
        const len = this.#length(info, start);
        this.#need(len);
        const bytes = this.#b.subarray(this.pos, this.pos + len);
        this.pos += len;
        // A copy, as a Buffer: the value outlives no one else's array, and compares with .equals.
        if (major === 2) return Buffer.from(bytes);
        try {
          return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          return this.#fail('a text string that is not UTF-8', start);
        }
      }
      case 4:
      case 5: {
        if (depth >= this.#maxDepth) this.#fail(`nested deeper than ${this.#maxDepth}`, start);
        const count = this.#length(info, start);
        // Every member takes at least one byte: a count beyond what is left is a lie, refused before looping.
        this.#need(major === 4 ? count : count * 2);
        if (major === 4) {
          const out: CborValue[] = [];
          for (let i = 0; i < count; i++) out.push(this.item(depth + 1));
          return out;
        }
        const map = new Map<CborValue, CborValue>();
        for (let i = 0; i < count; i++) {
          const keyAt = this.pos;
          const key = this.item(depth + 1);
          if (typeof key !== 'number' && typeof key !== 'string' && typeof key !== 'bigint') {
            this.#fail('a map key that is not an integer or a text string', keyAt);
          }
          if (map.has(key)) this.#fail(`duplicate map key ${JSON.stringify(String(key))}`, keyAt);
          map.set(key, this.item(depth + 1));
        }
        return map;
      }
      case 6: {
        if (depth >= this.#maxDepth) this.#fail(`nested deeper than ${this.#maxDepth}`, start);
        const tag = this.#argument(info, start);
        if (typeof tag === 'bigint') this.#fail('a tag beyond 2^53', start);
        return new CborTag(tag, this.item(depth + 1));
      }
      default:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        return this.#fail(`simple value or float (additional information ${info}) is not supported`, start);
    }
  }
}

/** Encodes with the shortest heads (RFC 8949 §4.2.1 preferred serialisation); map order as given. */
export function encodeCbor(value: CborValue): Buffer {
  const parts: Buffer[] = [];
  write(value, parts);
  return Buffer.concat(parts);
}

function head(major: number, n: number | bigint): Buffer {
  const m = major << 5;
  if (typeof n === 'number' && (!Number.isSafeInteger(n) || n < 0)) {
    throw new CoseError('bad-cbor', `cannot encode ${n} as a CBOR argument`);
  }
  const big = BigInt(n);
  if (big < 24n) return Buffer.from([m | Number(big)]);
  if (big < 0x100n) return Buffer.from([m | 24, Number(big)]);
  if (big < 0x10000n) {
    const b = Buffer.alloc(3);
    b[0] = m | 25;
    b.writeUInt16BE(Number(big), 1);
    return b;
  }
  if (big < 0x100000000n) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(Number(big), 1);
    return b;
  }
  if (big > 0xffffffffffffffffn) throw new CoseError('bad-cbor', `cannot encode ${n} in 64 bits`);
  const b = Buffer.alloc(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(big, 1);
  return b;
}

function write(v: CborValue, out: Buffer[]): void {
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isInteger(v))
      throw new CoseError('bad-cbor', 'floats are not supported');
    out.push(v < 0 ? head(1, -1n - BigInt(v)) : head(0, v));
  } else if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8');
    out.push(head(3, bytes.length), bytes);
  } else if (v instanceof Uint8Array) {
    out.push(head(2, v.length), Buffer.from(v));
  } else if (v === false || v === true || v === null || v === undefined) {
    out.push(Buffer.from([0xe0 | (v === false ? 20 : v === true ? 21 : v === null ? 22 : 23)]));
  } else if (Array.isArray(v)) {
    out.push(head(4, v.length));
    for (const x of v) write(x, out);
  } else if (v instanceof Map) {
    out.push(head(5, v.size));
    for (const [k, x] of v) {
      write(k, out);
      write(x, out);
    }
  } else {
    out.push(head(6, v.tag));
    write(v.value, out);
  }
}
