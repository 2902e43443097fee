/**
 * Who is who in an AMD certificate chain. AMD names each certificate by its role: `ARK-<product>`,
 * `SEV-<product>` (ASK), `SEV-VLEK-<product>` (ASVK), `SEV-VCEK`, `SEV-VLEK` (AMD KDS spec 57230).
 */
import { X509Certificate } from 'node:crypto';
import {
  attributeValues,
  certificatesFromBytes,
  splitPemCertificates,
  subjectAttributes,
  X509Error,
} from '../x509/index.ts';
import { isSnpProduct, type SnpProduct } from './tcb.ts';

export type AmdCertificateRole = 'ark' | 'ask' | 'asvk' | 'vcek' | 'vlek';

export interface AmdCertificateIdentity {
  readonly commonName: string | undefined;
  readonly role: AmdCertificateRole | undefined;
  /** The product the CN names (ARK, ASK, ASVK); undefined for VCEK/VLEK and unknown names. */
  readonly product: SnpProduct | undefined;
}

/** A certificate as node:crypto holds it, its DER, or PEM text holding exactly one certificate. */
export type CertificateSource = X509Certificate | Uint8Array | string;

/** The certificates that vouch for a report: the VCEK, the ASK that signed it, and the ARK. */
export interface VcekChain {
  readonly vcek: CertificateSource;
  readonly ask: CertificateSource;
  readonly ark: CertificateSource;
}

export function toCertificate(source: CertificateSource, what: string): X509Certificate {
  if (source instanceof X509Certificate) return source;
  let der: Uint8Array = source as Uint8Array;
  if (typeof source === 'string') {
    const all = splitPemCertificates(source);
    if (all.length !== 1)
      throw new X509Error('bad-pem', `${what}: expected one certificate, found ${all.length}`);
    der = all[0]!;
  }
  try {
    return new X509Certificate(der);
  } catch (cause) {
    throw new X509Error('bad-certificate', `${what} does not parse as an X.509 certificate`, { cause });
  }
}

export function identifyAmdCertificate(cert: X509Certificate): AmdCertificateIdentity {
  const cns = attributeValues(subjectAttributes(cert), 'CN');
  const cn = cns.length === 1 ? cns[0] : undefined;
  const none = { commonName: cn, role: undefined, product: undefined };
  if (cn === undefined) return none;
  if (cn === 'SEV-VCEK') return { commonName: cn, role: 'vcek', product: undefined };
  if (cn === 'SEV-VLEK') return { commonName: cn, role: 'vlek', product: undefined };
  const m = /^(ARK|SEV-VLEK|SEV)-(.+)$/.exec(cn);
  if (!m || !isSnpProduct(m[2]!)) return none;
  const role: AmdCertificateRole = m[1] === 'ARK' ? 'ark' : m[1] === 'SEV' ? 'ask' : 'asvk';
  return { commonName: cn, role, product: m[2] };
}

/**
 * A chain from the forms THIM and KDS serve: the VCEK (PEM, or DER as KDS serves it) and the
 * `cert_chain` bundle (ASK, then ARK; PEM or concatenated DER). The slots are filled in the order given;
 * verification checks that the order is right.
 */
export function chainFromPem(
  vcek: string | Uint8Array,
  askArk: string | Uint8Array,
): { vcek: X509Certificate; ask: X509Certificate; ark: X509Certificate } {
  const leaf = typeof vcek === 'string' ? vcek : certificatesFromBytes(vcek);
  if (Array.isArray(leaf) && leaf.length !== 1) {
    throw new X509Error('bad-pem', `VCEK: expected one certificate, found ${leaf.length}`);
  }
  const bundle = typeof askArk === 'string' ? splitPemCertificates(askArk) : certificatesFromBytes(askArk);
  if (bundle.length !== 2) {
    throw new X509Error('bad-pem', `the ASK/ARK bundle holds ${bundle.length} certificates, expected 2`);
  }
  return {
    vcek: toCertificate(Array.isArray(leaf) ? leaf[0]! : leaf, 'VCEK'),
    ask: toCertificate(bundle[0]!, 'ASK'),
    ark: toCertificate(bundle[1]!, 'ARK'),
  };
}
