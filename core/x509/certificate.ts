/**
 * The fields of an X.509 certificate (RFC 5280 §4.1) read with our DER reader, for what
 * `crypto.X509Certificate` does not expose: extensions by OID, algorithm parameters, raw names.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import {
  Asn1Error,
  children,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOctetString,
  decodeOid,
  decodeSmallInteger,
  decodeTime,
  expectTag,
  expectUniversal,
  isContext,
  isUniversal,
  parseDer,
  UNIVERSAL,
  type Tlv,
} from '../asn1/index.ts';
import { X509Error } from './errors.ts';

/** A certificate as node:crypto holds it, or its DER. */
export type CertificateInput = X509Certificate | Uint8Array;

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING's contents (itself DER for every standard extension). */
  readonly value: Buffer;
}

export interface CertificateFields {
  /** X.509 version number as written (1, 2 or 3). */
  readonly version: number;
  readonly serialNumber: bigint;
  /** The DER of TBSCertificate: the signed bytes. */
  readonly tbs: Buffer;
  readonly tbsSignatureAlgorithm: Tlv;
  readonly issuer: Tlv;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Tlv;
  readonly subjectPublicKeyInfo: Tlv;
  readonly extensions: readonly Extension[];
  readonly signatureAlgorithm: Tlv;
  readonly signature: Buffer;
}

export function certificateDer(cert: CertificateInput): Buffer {
  if (cert instanceof Uint8Array) return Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength);
  return cert.raw;
}

const cache = new WeakMap<object, CertificateFields>();

/** Parses a certificate's structure; results for an X509Certificate are cached per object. */
export function certificateFields(cert: CertificateInput): CertificateFields {
  const key = cert instanceof Uint8Array ? undefined : cert;
  const hit = key && cache.get(key);
  if (hit) return hit;
  let fields: CertificateFields;
  try {
    fields = parseFields(certificateDer(cert));
  } catch (err) {
    if (err instanceof Asn1Error) {
      throw new X509Error('bad-certificate', `certificate DER: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (key) cache.set(key, fields);
  return fields;
}

function parseFields(der: Buffer): CertificateFields {
  const [tbsTlv, sigAlg, sigValue, ...rest] = children(
    expectUniversal(parseDer(der), UNIVERSAL.SEQUENCE, 'Certificate'),
  );
  if (rest.length) throw new X509Error('bad-certificate', 'Certificate has more than three fields');
  const tbs = expectUniversal(tbsTlv, UNIVERSAL.SEQUENCE, 'TBSCertificate');
  expectUniversal(sigAlg, UNIVERSAL.SEQUENCE, 'signatureAlgorithm');
  const sig = decodeBitString(sigValue, 'signatureValue');
  if (sig.unusedBits !== 0) throw new X509Error('bad-certificate', 'signatureValue has unused bits');

  const items = children(tbs);
  let i = 0;
  let version = 1;
  if (items[0] && isContext(items[0], 0)) {
    const [v] = children(expectTag(items[0], 'context', 0, 'version', true));
    version = decodeSmallInteger(v, 0, 2, 'version') + 1;
    i++;
  }
  const serialNumber = decodeInteger(items[i++], 'serialNumber');
  const tbsSignatureAlgorithm = expectUniversal(items[i++], UNIVERSAL.SEQUENCE, 'signature');
  const issuer = expectUniversal(items[i++], UNIVERSAL.SEQUENCE, 'issuer');
  const [nb, na, ...extraValidity] = children(expectUniversal(items[i++], UNIVERSAL.SEQUENCE, 'validity'));
  if (extraValidity.length) throw new X509Error('bad-certificate', 'validity has more than two times');
  const subject = expectUniversal(items[i++], UNIVERSAL.SEQUENCE, 'subject');
  const subjectPublicKeyInfo = expectUniversal(items[i++], UNIVERSAL.SEQUENCE, 'subjectPublicKeyInfo');
  // issuerUniqueID [1] and subjectUniqueID [2] are skipped; extensions are [3].
  while (items[i] && (isContext(items[i]!, 1) || isContext(items[i]!, 2))) i++;
  let extensions: Extension[] = [];
  if (items[i] && isContext(items[i]!, 3)) {
    const [list] = children(expectTag(items[i], 'context', 3, 'extensions', true));
    extensions = parseExtensions(expectUniversal(list, UNIVERSAL.SEQUENCE, 'Extensions'));
    i++;
  }
  if (i !== items.length)
    throw new X509Error('bad-certificate', 'unexpected fields at the end of TBSCertificate');

  return {
    version,
    serialNumber,
    tbs: tbs.raw,
    tbsSignatureAlgorithm,
    issuer,
    notBefore: decodeTime(nb, 'notBefore'),
    notAfter: decodeTime(na, 'notAfter'),
    subject,
    subjectPublicKeyInfo,
    extensions,
    signatureAlgorithm: sigAlg!,
    signature: sig.bytes,
  };
}

function parseExtensions(list: Tlv): Extension[] {
  const out: Extension[] = [];
  const seen = new Set<string>();
  for (const ext of children(list)) {
    const parts = children(expectUniversal(ext, UNIVERSAL.SEQUENCE, 'Extension'));
    const oid = decodeOid(parts[0], 'extnID');
    let critical = false;
    let next = 1;
    if (parts[1] && isUniversal(parts[1], UNIVERSAL.BOOLEAN)) {
      critical = decodeBoolean(parts[1], 'critical');
      next = 2;
    }
    const value = decodeOctetString(parts[next], `extnValue of ${oid}`);
    if (parts.length !== next + 1)
      throw new X509Error('bad-certificate', `extension ${oid} has extra fields`);
    if (seen.has(oid)) throw new X509Error('duplicate-extension', `extension ${oid} appears more than once`);
    seen.add(oid);
    out.push({ oid, critical, value });
  }
  return out;
}

/**
 * The certificate's public key. node:crypto parses SubjectPublicKeyInfo only on access and throws
 * OpenSSL's message for a key that does not decode (a point off the curve, a bad algorithm OID).
 */
export function publicKeyOf(cert: X509Certificate, what: string): KeyObject {
  try {
    return cert.publicKey;
  } catch (cause) {
    throw new X509Error('bad-certificate', `${what} SubjectPublicKeyInfo does not decode as a public key`, {
      cause,
    });
  }
}

/** Every extension, in certificate order. */
export function getExtensions(cert: CertificateInput): readonly Extension[] {
  return certificateFields(cert).extensions;
}

/** The extension with `oid`, or undefined. */
export function getExtension(cert: CertificateInput, oid: string): Extension | undefined {
  return getExtensions(cert).find((e) => e.oid === oid);
}

/**
 * Whether `issuer` issued `cert`: names chain and the signature verifies. False, not a throw, for a key
 * Node cannot verify with (an unusual algorithm), so callers refuse such a chain with their own error.
 */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
