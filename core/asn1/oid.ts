/** OBJECT IDENTIFIER contents (X.690 §8.19) to and from dotted text. */
import { Asn1Error } from './errors.ts';

const DOTTED = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

/** Encodes dotted text such as `1.3.6.1.4.1.3704.1.4` as OID contents octets. */
export function encodeOidContents(oid: string): Buffer {
  if (!DOTTED.test(oid)) throw new Asn1Error('bad-oid', `"${oid}" is not a dotted object identifier`);
  const arcs = oid.split('.').map((a) => BigInt(a));
  const [a0, a1] = arcs as [bigint, bigint];
  if (a0 > 2n || (a0 < 2n && a1 >= 40n)) {
    throw new Asn1Error('bad-oid', `"${oid}": first arcs ${a0}.${a1} are not allowed`);
  }
  const out: number[] = [];
  for (const sub of [a0 * 40n + a1, ...arcs.slice(2)]) {
    const digits: number[] = [Number(sub & 0x7fn)];
    for (let rest = sub >> 7n; rest > 0n; rest >>= 7n) digits.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...digits);
  }
  return Buffer.from(out);
}

/** Decodes OID contents octets to dotted text, rejecting padded or unterminated subidentifiers. */
export function decodeOidContents(contents: Uint8Array, offset?: number): string {
  if (contents.length === 0) throw new Asn1Error('bad-oid', 'OBJECT IDENTIFIER has no contents', offset);
  const subs: bigint[] = [];
  let current = 0n;
  let startOfSub = true;
  for (const b of contents) {
    if (startOfSub && b === 0x80) {
      throw new Asn1Error('bad-oid', 'OBJECT IDENTIFIER subidentifier has a leading zero digit', offset);
    }
    current = (current << 7n) | BigInt(b & 0x7f);
    startOfSub = (b & 0x80) === 0;
    if (startOfSub) {
      subs.push(current);
      current = 0n;
    }
  }
  if (!startOfSub) throw new Asn1Error('bad-oid', 'OBJECT IDENTIFIER ends inside a subidentifier', offset);
  const first = subs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...subs.slice(1)].join('.');
}
