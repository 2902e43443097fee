/**
 * Signature AlgorithmIdentifiers (RFC 4055, RFC 5758, RFC 8410): parsed from certificates, and
 * written and applied by the builder. RSA-PSS parameters are decoded in full because AMD signs every
 * SEV-SNP certificate with RSASSA-PSS, SHA-384, MGF1-SHA-384 and a 48-byte salt.
 */
import crypto, { type KeyObject } from 'node:crypto';
import {
  Asn1Error,
  children,
  decodeNull,
  decodeOid,
  decodeSmallInteger,
  expectTag,
  expectUniversal,
  explicit,
  integer,
  nullValue,
  oid,
  sequence,
  UNIVERSAL,
  type Tlv,
} from '../asn1/index.ts';
import { certificateFields, type CertificateInput } from './certificate.ts';
import { X509Error } from './errors.ts';

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export const HASH_OIDS: Readonly<Record<HashName, string>> = {
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};

export const ALGORITHM_OIDS = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha1WithRSAEncryption: '1.2.840.113549.1.1.5',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  sha384WithRSAEncryption: '1.2.840.113549.1.1.12',
  sha512WithRSAEncryption: '1.2.840.113549.1.1.13',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
} as const;

const RSA_PKCS1: Readonly<Record<string, HashName>> = {
  [ALGORITHM_OIDS.sha1WithRSAEncryption]: 'sha1',
  [ALGORITHM_OIDS.sha256WithRSAEncryption]: 'sha256',
  [ALGORITHM_OIDS.sha384WithRSAEncryption]: 'sha384',
  [ALGORITHM_OIDS.sha512WithRSAEncryption]: 'sha512',
};
const ECDSA: Readonly<Record<string, HashName>> = {
  [ALGORITHM_OIDS.ecdsaWithSHA256]: 'sha256',
  [ALGORITHM_OIDS.ecdsaWithSHA384]: 'sha384',
  [ALGORITHM_OIDS.ecdsaWithSHA512]: 'sha512',
};

export type SignatureAlgorithm =
  | {
      readonly kind: 'rsa-pss';
      readonly oid: string;
      readonly hash: HashName;
      readonly mgf1Hash: HashName;
      readonly saltLength: number;
      readonly trailerField: number;
    }
  | { readonly kind: 'rsa-pkcs1'; readonly oid: string; readonly hash: HashName }
  | { readonly kind: 'ecdsa'; readonly oid: string; readonly hash: HashName }
  | { readonly kind: 'ed25519'; readonly oid: string }
  | { readonly kind: 'unknown'; readonly oid: string };

function hashOfOid(dotted: string, what: string): HashName {
  for (const [name, o] of Object.entries(HASH_OIDS)) if (o === dotted) return name as HashName;
  throw new X509Error('unsupported-algorithm', `${what}: unknown hash algorithm ${dotted}`);
}

/** A hash AlgorithmIdentifier: OID with NULL or absent parameters. */
function parseHashAlgorithm(tlv: Tlv | undefined, what: string): HashName {
  const [id, params, ...rest] = children(expectUniversal(tlv, UNIVERSAL.SEQUENCE, what));
  if (rest.length) throw new X509Error('bad-algorithm-parameters', `${what} has extra fields`);
  if (params) decodeNull(params, `${what} parameters`);
  return hashOfOid(decodeOid(id, what), what);
}

/** RSASSA-PSS-params (RFC 4055 §3.1) with their defaults: SHA-1, MGF1-SHA-1, salt 20, trailer 1. */
function parsePssParams(
  params: Tlv | undefined,
): Omit<Extract<SignatureAlgorithm, { kind: 'rsa-pss' }>, 'kind' | 'oid'> {
  let hash: HashName = 'sha1';
  let mgf1Hash: HashName = 'sha1';
  let saltLength = 20;
  let trailerField = 1;
  const fields = children(expectUniversal(params, UNIVERSAL.SEQUENCE, 'RSASSA-PSS-params'));
  let last = -1;
  for (const f of fields) {
    if (f.tagClass !== 'context' || f.tagNumber > 3 || f.tagNumber <= last) {
      throw new X509Error('bad-algorithm-parameters', 'RSASSA-PSS-params fields out of order or unknown');
    }
    last = f.tagNumber;
    const [inner, ...extra] = children(
      expectTag(f, 'context', f.tagNumber, `RSASSA-PSS-params [${f.tagNumber}]`, true),
    );
    if (extra.length)
      throw new X509Error(
        'bad-algorithm-parameters',
        `RSASSA-PSS-params [${f.tagNumber}] has extra elements`,
      );
    if (f.tagNumber === 0) hash = parseHashAlgorithm(inner, 'PSS hashAlgorithm');
    if (f.tagNumber === 1) {
      const [mgfId, mgfParams, ...more] = children(
        expectUniversal(inner, UNIVERSAL.SEQUENCE, 'PSS maskGenAlgorithm'),
      );
      if (more.length)
        throw new X509Error('bad-algorithm-parameters', 'PSS maskGenAlgorithm has extra fields');
      const mgf = decodeOid(mgfId, 'PSS maskGenAlgorithm');
      if (mgf !== ALGORITHM_OIDS.mgf1) {
        throw new X509Error('unsupported-algorithm', `PSS mask generation function ${mgf} is not MGF1`);
      }
      mgf1Hash = parseHashAlgorithm(mgfParams, 'MGF1 hash');
    }
    if (f.tagNumber === 2) saltLength = decodeSmallInteger(inner, 0, 1 << 16, 'PSS saltLength');
    if (f.tagNumber === 3) trailerField = decodeSmallInteger(inner, 0, 255, 'PSS trailerField');
  }
  if (trailerField !== 1) {
    throw new X509Error('bad-algorithm-parameters', `PSS trailerField must be 1, got ${trailerField}`);
  }
  return { hash, mgf1Hash, saltLength, trailerField };
}

/** Parses an AlgorithmIdentifier used for signatures. */
export function parseSignatureAlgorithm(tlv: Tlv): SignatureAlgorithm {
  try {
    const [id, params, ...rest] = children(expectUniversal(tlv, UNIVERSAL.SEQUENCE, 'AlgorithmIdentifier'));
    if (rest.length) throw new X509Error('bad-algorithm-parameters', 'AlgorithmIdentifier has extra fields');
    const dotted = decodeOid(id, 'algorithm');
    if (dotted === ALGORITHM_OIDS.rsassaPss)
      return { kind: 'rsa-pss', oid: dotted, ...parsePssParams(params) };
    const rsaHash = RSA_PKCS1[dotted];
    if (rsaHash) {
      // RFC 4055 §5: NULL; some encoders omit it, which is tolerated.
      if (params) decodeNull(params, 'PKCS#1 v1.5 parameters');
      return { kind: 'rsa-pkcs1', oid: dotted, hash: rsaHash };
    }
    const ecHash = ECDSA[dotted];
    if (ecHash || dotted === ALGORITHM_OIDS.ed25519) {
      // RFC 5758 §3.2 and RFC 8410 §3: parameters MUST be absent.
      if (params) throw new X509Error('bad-algorithm-parameters', `${dotted} must not have parameters`);
      return ecHash ? { kind: 'ecdsa', oid: dotted, hash: ecHash } : { kind: 'ed25519', oid: dotted };
    }
    return { kind: 'unknown', oid: dotted };
  } catch (err) {
    if (err instanceof Asn1Error) {
      throw new X509Error('bad-algorithm-parameters', `AlgorithmIdentifier: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * The certificate's signature algorithm. The copy inside TBSCertificate must be byte-identical to
 * the outer one (RFC 5280 §4.1.1.2); otherwise the signed algorithm is not the one being checked.
 */
export function signatureAlgorithm(cert: CertificateInput): SignatureAlgorithm {
  const f = certificateFields(cert);
  if (!f.tbsSignatureAlgorithm.raw.equals(f.signatureAlgorithm.raw)) {
    throw new X509Error(
      'algorithm-mismatch',
      'TBSCertificate.signature differs from Certificate.signatureAlgorithm',
    );
  }
  return parseSignatureAlgorithm(f.signatureAlgorithm);
}

/** The algorithms the certificate builder signs with. */
export type BuilderSignatureAlgorithm = 'rsa-pss-sha384' | 'sha256-rsa' | 'ecdsa-sha384' | 'ecdsa-sha256';

const hashId = (hash: HashName): Buffer => sequence(oid(HASH_OIDS[hash]), nullValue());

/**
 * The AlgorithmIdentifier DER for a builder algorithm. RSA-PSS is written as AMD writes it: all four
 * parameters explicit, trailerField 1 included (AMD's certificates carry it although it is DEFAULT).
 */
export function encodeSignatureAlgorithm(alg: BuilderSignatureAlgorithm): Buffer {
  switch (alg) {
    case 'rsa-pss-sha384':
      return sequence(
        oid(ALGORITHM_OIDS.rsassaPss),
        sequence(
          explicit(0, hashId('sha384')),
          explicit(1, sequence(oid(ALGORITHM_OIDS.mgf1), hashId('sha384'))),
          explicit(2, integer(48)),
          explicit(3, integer(1)),
        ),
      );
    case 'sha256-rsa':
      return sequence(oid(ALGORITHM_OIDS.sha256WithRSAEncryption), nullValue());
    case 'ecdsa-sha384':
      return sequence(oid(ALGORITHM_OIDS.ecdsaWithSHA384));
    case 'ecdsa-sha256':
      return sequence(oid(ALGORITHM_OIDS.ecdsaWithSHA256));
  }
}

/** Signs `data` with `key` as the builder algorithm prescribes (ECDSA signatures come out DER). */
export function signWith(alg: BuilderSignatureAlgorithm, key: KeyObject, data: Uint8Array): Buffer {
  if (key.type !== 'private') throw new X509Error('key-mismatch', 'the signing key must be a private key');
  const keyType = key.asymmetricKeyType;
  const rsa = keyType === 'rsa' || (keyType === 'rsa-pss' && alg === 'rsa-pss-sha384');
  const ec = keyType === 'ec';
  switch (alg) {
    case 'rsa-pss-sha384':
      if (!rsa) throw new X509Error('key-mismatch', `${alg} needs an RSA key, got ${keyType}`);
      // MGF1 uses the message digest (SHA-384) unless told otherwise.
      return crypto.sign('sha384', data, {
        key,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 48,
      });
    case 'sha256-rsa':
      if (!rsa) throw new X509Error('key-mismatch', `${alg} needs an RSA key, got ${keyType}`);
      return crypto.sign('sha256', data, { key, padding: crypto.constants.RSA_PKCS1_PADDING });
    case 'ecdsa-sha384':
    case 'ecdsa-sha256':
      if (!ec) throw new X509Error('key-mismatch', `${alg} needs an EC key, got ${keyType}`);
      return crypto.sign(alg === 'ecdsa-sha384' ? 'sha384' : 'sha256', data, { key, dsaEncoding: 'der' });
  }
}
