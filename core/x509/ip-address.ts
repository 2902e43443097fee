/** IPv4 and IPv6 text to the 4- or 16-byte form of a GeneralName iPAddress (RFC 5280 §4.2.1.6). */
import { X509Error } from './errors.ts';

const V4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseV4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => V4_OCTET.test(p))) return undefined;
  return parts.map(Number);
}

function parseV6(text: string): number[] | undefined {
  let v6 = text;
  // An embedded IPv4 address in the last 32 bits (::ffff:10.0.0.1) becomes two hex groups.
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseV4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hex = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
    v6 = `${text.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const halves = v6.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

/** The network-order bytes of an IPv4 or IPv6 address. */
export function ipAddressBytes(text: string): Buffer {
  const bytes = text.includes(':') ? parseV6(text) : parseV4(text);
  if (!bytes) throw new X509Error('bad-input', `"${text}" is not an IPv4 or IPv6 address`);
  return Buffer.from(bytes);
}
