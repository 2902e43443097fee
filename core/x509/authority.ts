/**
 * A private certificate authority and the leaves it issues: the simulators' CA, the local control
 * plane's cluster CA, the webhook's own CA. Keys are made in memory (EC P-256 unless asked otherwise);
 * where the PEMs are kept is the caller's business. Leaves carry the authority key identifier the
 * CA's certificate names as its own subject key identifier, whoever made that certificate (Go 1.25+
 * derives it from SHA-256, OpenSSL from SHA-1): verifiers match the two when they build the chain.
 */
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { parseDer } from '../asn1/index.ts';
import type { BuilderSignatureAlgorithm } from './algorithms.ts';
import { buildCertificate, type CertificateOptions } from './builder.ts';
import { certificateDer, getExtension } from './certificate.ts';
import { X509Error } from './errors.ts';
import { subjectNameDer, type NameAttributeInput } from './names.ts';
import { toPem } from './pem.ts';
import {
  EXTENSION_OIDS,
  type ExtendedKeyUsage,
  type KeyUsage,
  type SubjectAltNames,
} from './standard-extensions.ts';

/** `ec`: P-256, for TLS. `rsa`: RSA-2048, for RS256 JWS/JWT signing. */
export function generateKey(type: 'ec' | 'rsa' = 'ec'): KeyObject {
  return type === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** A private key as PKCS#8 PEM. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** 16 random bytes, positive: unique without a counter shared between processes (RFC 5280 §4.1.2.2). */
export function randomSerial(): Buffer {
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f;
  return serial;
}

function signatureAlgorithmFor(key: KeyObject): BuilderSignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'sha256-rsa';
  if (key.asymmetricKeyType === 'ec') {
    return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ecdsa-sha384' : 'ecdsa-sha256';
  }
  throw new X509Error('key-mismatch', `a CA key must be RSA or EC, got ${key.asymmetricKeyType}`);
}

/** A certificate for `key` with a fresh serial and a subject key identifier, signed by `issuer`. */
function certify(
  o: { readonly subject: readonly NameAttributeInput[]; readonly notBefore: Date; readonly notAfter: Date },
  key: KeyObject,
  issuer: { readonly name: readonly NameAttributeInput[] | Uint8Array; readonly key: KeyObject },
  extensions: Pick<
    CertificateOptions,
    'basicConstraints' | 'keyUsage' | 'extKeyUsage' | 'subjectAltNames' | 'authorityKeyIdentifier'
  >,
): Buffer {
  return buildCertificate({
    serial: randomSerial(),
    subject: o.subject,
    issuer: issuer.name,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    publicKey: key,
    signingKey: issuer.key,
    signatureAlgorithm: signatureAlgorithmFor(issuer.key),
    subjectKeyIdentifier: true,
    ...extensions,
  });
}

export interface CertificateAuthority {
  /** The CA's private key. */
  readonly key: KeyObject;
  readonly certDer: Buffer;
  readonly certPem: string;
  /** The CA's subject, as its certificate encodes it: the leaves' issuer, byte for byte. */
  readonly subject: Buffer;
  /** What the leaves carry as authority key identifier. */
  readonly keyIdentifier: Uint8Array | true;
}

export interface AuthorityOptions {
  readonly subject: readonly NameAttributeInput[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Default: a new EC P-256 key. */
  readonly key?: KeyObject;
}

/** A new self-signed CA: keyCertSign, cRLSign and digitalSignature, with a subject key identifier. */
export function createCertificateAuthority(o: AuthorityOptions): CertificateAuthority {
  const key = o.key ?? generateKey();
  const der = certify(
    o,
    key,
    { name: o.subject, key },
    {
      basicConstraints: { ca: true },
      keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
    },
  );
  return certificateAuthority(der, key);
}

/**
 * An intermediate CA under `parent`, with `pathLength` as its pathLenConstraint when given: the
 * shape of a public TLS chain (root, issuing CA, leaf) for tests of chain verification.
 */
export function issueIntermediate(
  parent: CertificateAuthority,
  o: AuthorityOptions & { readonly pathLength?: number },
): CertificateAuthority {
  const key = o.key ?? generateKey();
  const der = certify(
    o,
    key,
    { name: parent.subject, key: parent.key },
    {
      basicConstraints: o.pathLength === undefined ? { ca: true } : { ca: true, pathLength: o.pathLength },
      keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
      authorityKeyIdentifier: parent.keyIdentifier,
    },
  );
  return certificateAuthority(der, key);
}

/** A CA made elsewhere (say by Helm or OpenSSL): its certificate and the private key that belongs to it. */
export function certificateAuthority(
  cert: Uint8Array | X509Certificate,
  key: KeyObject,
): CertificateAuthority {
  const certDer = certificateDer(cert);
  const certKey = new X509Certificate(certDer).publicKey.export({ format: 'der', type: 'spki' });
  // A key that is not the certificate's would only show later, as every client's failure to verify.
  if (!crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }).equals(certKey)) {
    throw new X509Error('key-mismatch', 'the CA key does not belong to its certificate');
  }
  signatureAlgorithmFor(key); // a key type no leaf could be signed with fails here, not at the first issue
  const ski = getExtension(certDer, EXTENSION_OIDS.subjectKeyIdentifier);
  return {
    key,
    certDer,
    certPem: toPem(certDer),
    subject: subjectNameDer(certDer),
    keyIdentifier: ski ? parseDer(ski.value).value : true,
  };
}

export interface LeafOptions {
  readonly subject: readonly NameAttributeInput[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The certified key. Default: a new EC P-256 key. */
  readonly key?: KeyObject;
  /** Default: digitalSignature, and keyEncipherment for an RSA key. */
  readonly keyUsage?: readonly KeyUsage[];
  /** `serverAuth` for a TLS server, `clientAuth` for a client; none for a signing certificate. */
  readonly extKeyUsage?: readonly ExtendedKeyUsage[];
  readonly subjectAltNames?: SubjectAltNames;
}

export interface IssuedLeaf {
  readonly key: KeyObject;
  readonly certDer: Buffer;
  readonly certPem: string;
}

/** A certificate for an end entity (not a CA), signed by `ca`. */
export function issueLeaf(ca: CertificateAuthority, o: LeafOptions): IssuedLeaf {
  const key = o.key ?? generateKey();
  const certDer = certify(
    o,
    key,
    { name: ca.subject, key: ca.key },
    {
      basicConstraints: { ca: false },
      keyUsage:
        o.keyUsage ??
        (key.asymmetricKeyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']),
      ...(o.extKeyUsage ? { extKeyUsage: o.extKeyUsage } : {}),
      ...(o.subjectAltNames ? { subjectAltNames: o.subjectAltNames } : {}),
      authorityKeyIdentifier: ca.keyIdentifier,
    },
  );
  return { key, certDer, certPem: toPem(certDer) };
}
