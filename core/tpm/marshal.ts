/**
 * TPM 2.0 marshalling (TCG TPM 2.0 Part 2): big-endian integers and TPM2B (u16 size + bytes).
 * The reader never trusts a length: every read is checked against what is left, and a caller's
 * maximum for each TPM2B bounds it further.
 */
import { TpmError } from './errors.ts';

export class TpmWriter {
  readonly #parts: Buffer[] = [];

  u8(v: number): this {
    return this.#int(v, 1);
  }
  u16(v: number): this {
    return this.#int(v, 2);
  }
  u32(v: number): this {
    return this.#int(v, 4);
  }
  bytes(b: Uint8Array): this {
    this.#parts.push(Buffer.from(b));
    return this;
  }
  /** A TPM2B: u16 size then the bytes; `max` is the structure's own limit (e.g. 64 for a TPM2B_DATA). */
  tpm2b(b: Uint8Array, max = 0xffff, what = 'TPM2B'): this {
    if (b.length > max) throw new TpmError('bad-argument', `${what} is ${b.length} bytes, at most ${max}`);
    return this.u16(b.length).bytes(b);
  }
  /** A TPM2B whose content is itself marshalled (TPM2B_PUBLIC, TPM2B_NV_PUBLIC, TPM2B_SENSITIVE_CREATE). */
  sized(inner: TpmWriter): this {
    return this.tpm2b(inner.done());
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }

  #int(v: number, size: 1 | 2 | 4): this {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** (8 * size)) {
      throw new TpmError('bad-argument', `${v} does not fit in ${size * 8} bits`);
    }
    const b = Buffer.alloc(size);
    b.writeUIntBE(v, 0, size);
    this.#parts.push(b);
    return this;
  }
}

export class TpmReader {
  readonly #buf: Buffer;
  #pos: number;
  readonly #end: number;
  readonly #what: string;

  constructor(buf: Uint8Array, what: string, start = 0, end = buf.length) {
    this.#buf = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#pos = start;
    this.#end = end;
    this.#what = what;
  }

  get offset(): number {
    return this.#pos;
  }
  get remaining(): number {
    return this.#end - this.#pos;
  }

  u8(): number {
    return this.#take(1).readUInt8(0);
  }
  u16(): number {
    return this.#take(2).readUInt16BE(0);
  }
  u32(): number {
    return this.#take(4).readUInt32BE(0);
  }
  u64(): bigint {
    return this.#take(8).readBigUInt64BE(0);
  }
  bytes(n: number): Buffer {
    return Buffer.from(this.#take(n));
  }
  /** A TPM2B of at most `max` bytes (the structure's limit): a larger size is malformed, not trusted. */
  tpm2b(max: number, field: string): Buffer {
    const size = this.u16();
    if (size > max) this.fail(`${field} claims ${size} bytes, at most ${max}`);
    return this.bytes(size);
  }
  /** The content of a sized structure (TPM2B_PUBLIC, TPM2B_ATTEST …) as a reader confined to it. */
  sized(max: number, field: string): TpmReader {
    const body = this.tpm2b(max, field);
    return new TpmReader(body, `${this.#what}: ${field}`);
  }
  /** A sub-reader over the next `n` bytes (a parameter area whose size the response gives). */
  sub(n: number, field: string): TpmReader {
    return new TpmReader(this.bytes(n), `${this.#what}: ${field}`);
  }
  /** Everything consumed: trailing bytes mean the structure was not what we think it is. */
  end(): void {
    if (this.#pos !== this.#end) this.fail(`${this.#end - this.#pos} unexpected trailing bytes`);
  }

  fail(message: string): never {
    throw new TpmError('malformed-response', `${this.#what}: ${message}`);
  }

  #take(n: number): Buffer {
    if (n > this.#end - this.#pos) {
      this.fail(`needs ${n} bytes at offset ${this.#pos}, ${this.#end - this.#pos} left`);
    }
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}
