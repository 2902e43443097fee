/**
 * The fake chain's certificates, built the way AMD builds the real ones (research A3.1 and the
 * published roots): RSASSA-PSS SHA-384 / salt 48 on every link, AMD's names, one CRL distribution
 * point on ARK and ASK, none on the VCEK, whose only extensions are the KDS ones.
 *
 * Every field can be overridden to corrupt a certificate for negative tests; `corruptSignature`
 * flips a bit of the signature after signing.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { encodeKdsExtensions, type KdsExtensions, type SnpProduct } from '../../core/snp/index.ts';
import { buildCertificate, subjectNameDer, type CertificateOptions } from '../../core/x509/index.ts';
import type { KeyPair } from './keys.ts';
import { addYears, amdName, crlUrl, ROOT_ISSUED, ROOT_SERIALS, ROOT_VALIDITY_YEARS } from './names.ts';

/** Replaces fields of a certificate before it is signed, or its signature after. */
export interface CertOverride extends Partial<CertificateOptions> {
  /** VCEK only: KDS extension values laid over the genuine ones; `undefined` drops an extension. */
  readonly kds?: Partial<KdsExtensions>;
  /** VCEK only: write hwID raw (as Azure THIM serves it) or as an OCTET STRING (as AMD's KDS does). */
  readonly hwIdEncoding?: 'octet-string' | 'raw';
  /** Flip the last bit of the signature value. */
  readonly corruptSignature?: boolean;
}

function finish(options: CertificateOptions, override: CertOverride | undefined): X509Certificate {
  const { kds: _kds, hwIdEncoding: _enc, corruptSignature, ...fields } = override ?? {};
  const der = buildCertificate({ ...options, ...fields });
  // The signature BIT STRING is the certificate's last element, so its last byte is the signature's.
  if (corruptSignature) der[der.length - 1]! ^= 0x01;
  return new X509Certificate(der);
}

export function buildArk(product: SnpProduct, ark: KeyPair, override?: CertOverride): X509Certificate {
  const issued = ROOT_ISSUED[product];
  return finish(
    {
      serial: ROOT_SERIALS[product].ark,
      subject: amdName(`ARK-${product}`),
      issuer: amdName(`ARK-${product}`),
      notBefore: issued,
      notAfter: addYears(issued, ROOT_VALIDITY_YEARS),
      publicKey: ark.publicKey,
      signingKey: ark.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      keyUsage: ['keyCertSign', 'cRLSign'],
      subjectKeyIdentifier: true,
      basicConstraints: { ca: true },
      crlDistributionPoints: [crlUrl(product)],
    },
    override,
  );
}

export function buildAsk(
  product: SnpProduct,
  ask: KeyPair,
  ark: { cert: X509Certificate; privateKey: KeyObject },
  override?: CertOverride,
): X509Certificate {
  const issued = new Date(ROOT_ISSUED[product].getTime() + 3_600_000);
  return finish(
    {
      serial: ROOT_SERIALS[product].ask,
      subject: amdName(`SEV-${product}`),
      issuer: subjectNameDer(ark.cert),
      notBefore: issued,
      notAfter: addYears(issued, ROOT_VALIDITY_YEARS),
      publicKey: ask.publicKey,
      signingKey: ark.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      subjectKeyIdentifier: true,
      authorityKeyIdentifier: true,
      basicConstraints: { ca: true, pathLength: 0 },
      keyUsage: ['keyCertSign'],
      crlDistributionPoints: [crlUrl(product)],
    },
    override,
  );
}

export interface VcekInput {
  readonly extensions: KdsExtensions;
  readonly publicKey: KeyObject;
  readonly ask: { cert: X509Certificate; privateKey: KeyObject };
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A VCEK: serial 0, no standard extensions, the KDS extensions in AMD's order. */
export function buildVcek(input: VcekInput, override?: CertOverride): X509Certificate {
  const extensions = encodeKdsExtensions(
    { ...input.extensions, ...override?.kds },
    { hwIdEncoding: override?.hwIdEncoding ?? 'octet-string' },
  );
  return finish(
    {
      serial: 0,
      subject: amdName('SEV-VCEK'),
      issuer: subjectNameDer(input.ask.cert),
      notBefore: input.notBefore,
      notAfter: input.notAfter,
      publicKey: input.publicKey,
      signingKey: input.ask.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      extensions,
    },
    override,
  );
}
