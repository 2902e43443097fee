/**
 * A small X.509 v3 certificate builder for the simulators' fake AMD chain, TLS server certificates,
 * JWS x5c chains and the attestation service's signing certificate. It writes DER that node:crypto
 * (OpenSSL) loads and verifies; it is not a CA and enforces only what keeps the output valid.
 */
import crypto, { type KeyObject } from 'node:crypto';
import {
  Asn1Error,
  bitString,
  boolean,
  explicit,
  integer,
  octetString,
  oid,
  sequence,
  time,
  unsignedInteger,
} from '../asn1/index.ts';
import { encodeSignatureAlgorithm, signWith, type BuilderSignatureAlgorithm } from './algorithms.ts';
import { X509Error } from './errors.ts';
import { encodeName, type NameAttributeInput } from './names.ts';
import {
  EXTENSION_OIDS,
  encodeAuthorityKeyIdentifier,
  encodeBasicConstraints,
  encodeCrlDistributionPoints,
  encodeExtKeyUsage,
  encodeKeyUsage,
  encodeSubjectAltNames,
  encodeSubjectKeyIdentifier,
  keyIdentifier,
  type BasicConstraints,
  type ExtendedKeyUsage,
  type KeyUsage,
  type SubjectAltNames,
} from './standard-extensions.ts';

/** An extension given as its extnValue contents. */
export interface CustomExtension {
  readonly oid: string;
  readonly critical?: boolean;
  readonly value: Uint8Array;
}

export interface CertificateOptions {
  /** Non-negative; a byte array is an unsigned big-endian magnitude. At most 20 octets (RFC 5280). */
  readonly serial: bigint | number | Uint8Array;
  /** Attributes in order (one per RDN), or a Name's DER. */
  readonly subject: readonly NameAttributeInput[] | Uint8Array;
  /** Attributes, or the issuer certificate's subject DER (`subjectNameDer`) to match it exactly. */
  readonly issuer: readonly NameAttributeInput[] | Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The certified key; a private key is reduced to its public half. */
  readonly publicKey: KeyObject;
  readonly signingKey: KeyObject;
  readonly signatureAlgorithm: BuilderSignatureAlgorithm;
  /** Written after the standard extensions, in the order given. */
  readonly extensions?: readonly CustomExtension[];
  /** Critical unless `critical: false`. */
  readonly basicConstraints?: BasicConstraints & { readonly critical?: boolean };
  /** Critical. */
  readonly keyUsage?: readonly KeyUsage[];
  readonly extKeyUsage?: readonly (ExtendedKeyUsage | string)[];
  /** Critical when the subject is empty (RFC 5280 §4.2.1.6). */
  readonly subjectAltNames?: SubjectAltNames;
  readonly crlDistributionPoints?: readonly string[];
  /** `true` computes it from `publicKey` (RFC 5280 method 1). */
  readonly subjectKeyIdentifier?: Uint8Array | true;
  /** `true` computes it from the public half of `signingKey`. */
  readonly authorityKeyIdentifier?: Uint8Array | true;
}

function serialNumber(serial: CertificateOptions['serial']): Buffer {
  let der: Buffer;
  if (serial instanceof Uint8Array) {
    der = unsignedInteger(serial);
  } else {
    if (typeof serial === 'number' && !Number.isSafeInteger(serial)) {
      throw new X509Error('bad-input', `serial ${serial} is not a safe integer; pass a bigint`);
    }
    if (BigInt(serial) < 0n) throw new X509Error('bad-input', 'serial must not be negative');
    der = integer(serial);
  }
  if (der.length - 2 > 20)
    throw new X509Error('bad-input', 'serial is longer than 20 octets (RFC 5280 §4.1.2.2)');
  return der;
}

function nameDer(name: CertificateOptions['subject'], what: string): Buffer {
  if (name instanceof Uint8Array) return Buffer.from(name);
  if (name.length === 0 && what === 'issuer') throw new X509Error('bad-input', 'issuer must not be empty');
  return encodeName(name);
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function publicHalf(key: KeyObject): KeyObject {
  return key.type === 'private' ? crypto.createPublicKey(key) : key;
}

/** Builds and signs a certificate; returns its DER. */
export function buildCertificate(options: CertificateOptions): Buffer {
  try {
    return build(options);
  } catch (err) {
    if (err instanceof Asn1Error)
      throw new X509Error('bad-input', `certificate: ${err.message}`, { cause: err });
    throw err;
  }
}

function build(o: CertificateOptions): Buffer {
  if (!(o.notAfter.getTime() >= o.notBefore.getTime())) {
    throw new X509Error('bad-input', 'notAfter must not be before notBefore');
  }
  const subject = nameDer(o.subject, 'subject');
  const subjectIsEmpty = subject.length === 2;
  const publicKey = publicHalf(o.publicKey);
  if (publicKey.type !== 'public') throw new X509Error('bad-input', 'publicKey must be an asymmetric key');

  const exts: Buffer[] = [];
  const seen = new Set<string>();
  const add = (id: string, critical: boolean, value: Uint8Array): void => {
    if (seen.has(id)) throw new X509Error('bad-input', `extension ${id} given twice`);
    seen.add(id);
    exts.push(extension(id, critical, value));
  };
  if (o.basicConstraints) {
    add(
      EXTENSION_OIDS.basicConstraints,
      o.basicConstraints.critical ?? true,
      encodeBasicConstraints(o.basicConstraints),
    );
  }
  if (o.keyUsage) add(EXTENSION_OIDS.keyUsage, true, encodeKeyUsage(o.keyUsage));
  if (o.extKeyUsage) add(EXTENSION_OIDS.extKeyUsage, false, encodeExtKeyUsage(o.extKeyUsage));
  if (o.subjectAltNames) {
    add(EXTENSION_OIDS.subjectAltName, subjectIsEmpty, encodeSubjectAltNames(o.subjectAltNames));
  } else if (subjectIsEmpty) {
    throw new X509Error('bad-input', 'an empty subject needs subjectAltNames (RFC 5280 §4.1.2.6)');
  }
  if (o.subjectKeyIdentifier) {
    const id = o.subjectKeyIdentifier === true ? keyIdentifier(publicKey) : o.subjectKeyIdentifier;
    add(EXTENSION_OIDS.subjectKeyIdentifier, false, encodeSubjectKeyIdentifier(id));
  }
  if (o.authorityKeyIdentifier) {
    const id = o.authorityKeyIdentifier === true ? keyIdentifier(o.signingKey) : o.authorityKeyIdentifier;
    add(EXTENSION_OIDS.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(id));
  }
  if (o.crlDistributionPoints) {
    add(EXTENSION_OIDS.crlDistributionPoints, false, encodeCrlDistributionPoints(o.crlDistributionPoints));
  }
  for (const e of o.extensions ?? []) add(e.oid, e.critical ?? false, e.value);

  const algorithm = encodeSignatureAlgorithm(o.signatureAlgorithm);
  const tbs = sequence(
    explicit(0, integer(2)), // v3
    serialNumber(o.serial),
    algorithm,
    nameDer(o.issuer, 'issuer'),
    sequence(time(o.notBefore), time(o.notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    ...(exts.length ? [explicit(3, sequence(...exts))] : []),
  );
  const signature = signWith(o.signatureAlgorithm, o.signingKey, tbs);
  return sequence(tbs, algorithm, bitString(signature));
}
