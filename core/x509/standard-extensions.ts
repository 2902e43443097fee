/**
 * The RFC 5280 §4.2.1 extensions the builder writes (and reads back for checks): basic constraints,
 * key usage, extended key usage, subject alternative names, CRL distribution points and key
 * identifiers. Each encoder returns the extnValue contents.
 */
import crypto, { type KeyObject } from 'node:crypto';
import {
  bitString,
  boolean,
  children,
  contextPrimitive,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSmallInteger,
  decodeStringContents,
  isContext,
  explicit,
  integer,
  isUniversal,
  octetString,
  oid,
  parseDer,
  sequence,
  UNIVERSAL,
  encodeStringContents,
  expectUniversal,
} from '../asn1/index.ts';
import { X509Error } from './errors.ts';
import { ipAddressBytes } from './ip-address.ts';

export const EXTENSION_OIDS = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

export const EXTENDED_KEY_USAGE_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

export type ExtendedKeyUsage = keyof typeof EXTENDED_KEY_USAGE_OIDS;

/** KeyUsage bits in order: the index is the bit number of RFC 5280 §4.2.1.3. */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

export type KeyUsage = (typeof KEY_USAGE_BITS)[number];

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength?: number;
}

/** BasicConstraints; `cA` FALSE is the DEFAULT and so is omitted (DER). */
export function encodeBasicConstraints(bc: BasicConstraints): Buffer {
  if (bc.pathLength !== undefined && (!bc.ca || !Number.isInteger(bc.pathLength) || bc.pathLength < 0)) {
    throw new X509Error('bad-input', 'basicConstraints pathLength needs ca: true and a non-negative integer');
  }
  return sequence(
    ...(bc.ca ? [boolean(true)] : []),
    ...(bc.pathLength !== undefined ? [integer(bc.pathLength)] : []),
  );
}

export function decodeBasicConstraints(value: Uint8Array): BasicConstraints {
  const items = children(expectUniversal(parseDer(value), UNIVERSAL.SEQUENCE, 'BasicConstraints'));
  let i = 0;
  let ca = false;
  if (items[i] && isUniversal(items[i]!, UNIVERSAL.BOOLEAN)) ca = decodeBoolean(items[i++], 'cA');
  const pathLength = items[i] ? decodeSmallInteger(items[i++], 0, 2 ** 31, 'pathLenConstraint') : undefined;
  if (i !== items.length) throw new X509Error('bad-certificate', 'BasicConstraints has extra fields');
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

/** KeyUsage as a DER named-bit list: trailing zero bits are dropped. */
export function encodeKeyUsage(usages: readonly KeyUsage[]): Buffer {
  if (usages.length === 0) throw new X509Error('bad-input', 'keyUsage needs at least one usage');
  let highest = -1;
  const bytes = Buffer.alloc(2);
  for (const u of usages) {
    const bit = KEY_USAGE_BITS.indexOf(u);
    if (bit < 0) throw new X509Error('bad-input', `unknown key usage "${u}"`);
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
    highest = Math.max(highest, bit);
  }
  return bitString(bytes.subarray(0, (highest >> 3) + 1), 7 - (highest & 7));
}

export function decodeKeyUsage(value: Uint8Array): KeyUsage[] {
  const { bytes } = decodeBitString(parseDer(value), 'KeyUsage');
  return KEY_USAGE_BITS.filter((_u, bit) => ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
}

/** ExtKeyUsageSyntax from names (serverAuth, ...) or dotted OIDs. */
export function encodeExtKeyUsage(usages: readonly (ExtendedKeyUsage | string)[]): Buffer {
  if (usages.length === 0) throw new X509Error('bad-input', 'extKeyUsage needs at least one purpose');
  return sequence(...usages.map((u) => oid((EXTENDED_KEY_USAGE_OIDS as Record<string, string>)[u] ?? u)));
}

/** The purposes of an ExtKeyUsageSyntax, as dotted OIDs (unknown ones included). */
export function decodeExtKeyUsage(value: Uint8Array): string[] {
  const purposes = children(expectUniversal(parseDer(value), UNIVERSAL.SEQUENCE, 'ExtKeyUsageSyntax'));
  if (purposes.length === 0) throw new X509Error('bad-certificate', 'ExtKeyUsageSyntax is empty');
  return purposes.map((p) => decodeOid(p, 'KeyPurposeId'));
}

export interface SubjectAltNames {
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
  readonly uri?: readonly string[];
}

/** GeneralNames: dNSName [2], uniformResourceIdentifier [6] (IA5String) and iPAddress [7]. */
export function encodeSubjectAltNames(san: SubjectAltNames): Buffer {
  const names = [
    ...(san.dns ?? []).map((d) => contextPrimitive(2, ia5(d, 'dNSName'))),
    ...(san.uri ?? []).map((u) => contextPrimitive(6, ia5(u, 'URI'))),
    ...(san.ip ?? []).map((ip) => contextPrimitive(7, ipAddressBytes(ip))),
  ];
  if (names.length === 0) throw new X509Error('bad-input', 'subjectAltNames needs at least one name');
  return sequence(...names);
}

/** The dNSName [2] entries of GeneralNames, in order; other kinds of name are skipped. */
export function decodeSubjectAltDnsNames(value: Uint8Array): string[] {
  const names = children(expectUniversal(parseDer(value), UNIVERSAL.SEQUENCE, 'GeneralNames'));
  if (names.length === 0) throw new X509Error('bad-certificate', 'GeneralNames is empty');
  return names
    .filter((n) => isContext(n, 2) && !n.constructed)
    .map((n) => decodeStringContents('ia5', n.value, n.offset));
}

function ia5(text: string, what: string): Buffer {
  try {
    return encodeStringContents('ia5', text);
  } catch (cause) {
    throw new X509Error('bad-input', `${what} "${text}" is not ASCII`, { cause });
  }
}

/** CRLDistributionPoints with one DistributionPoint per URL: `{ [0] { [0] fullName { [6] URI } } }`. */
export function encodeCrlDistributionPoints(urls: readonly string[]): Buffer {
  if (urls.length === 0) throw new X509Error('bad-input', 'crlDistributionPoints needs at least one URL');
  // DistributionPointName is a CHOICE, so its [0] is explicit; fullName [0] is implicit GeneralNames.
  return sequence(
    ...urls.map((u) => sequence(explicit(0, explicit(0, contextPrimitive(6, ia5(u, 'CRL URL')))))),
  );
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  const spki = pub.export({ type: 'spki', format: 'der' });
  const [, subjectPublicKey] = children(parseDer(spki));
  const { bytes } = decodeBitString(subjectPublicKey, 'subjectPublicKey');
  return crypto.createHash('sha1').update(bytes).digest();
}

export function encodeSubjectKeyIdentifier(id: Uint8Array): Buffer {
  return octetString(id);
}

/** AuthorityKeyIdentifier with only `keyIdentifier [0] IMPLICIT OCTET STRING`. */
export function encodeAuthorityKeyIdentifier(id: Uint8Array): Buffer {
  return sequence(contextPrimitive(0, id));
}
