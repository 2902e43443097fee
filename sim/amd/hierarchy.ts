/**
 * The one fake AMD key hierarchy, ARK → ASK → VCEK, built with the X.509 builder the way AMD builds
 * the real one (AMD KDS spec 57230, checked against the published Milan, Genoa and Turin chains; model:
 * go-sev-guest `testing/fake_certs.go`): AMD's names, serials, issue dates and CRL distribution
 * points, RSASSA-PSS SHA-384 / salt 48 on every link, and a VCEK whose only extensions are the KDS
 * ones. The ARK and ASK keys are fixed fixtures (fixtures/, one RSA-4096 pair per product): nothing
 * generates an RSA-4096 key while tests run.
 *
 * Test support, not part of the SNP module's API: core specs build chains link by link from it, and
 * the simulated platform (sim/amd) builds its chip, VCEKs and services on it. It reads its fixtures
 * from disk, which the core proper never does.
 */
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  buildCertificate,
  subjectNameDer,
  type CertificateOptions,
  type NameAttributeInput,
} from '../../core/x509/index.ts';
import { encodeKdsExtensions, type KdsExtensions } from '../../core/snp/kds.ts';
import { SNP_PRODUCTS, type SnpProduct } from '../../core/snp/tcb.ts';

/** AMD's subject and issuer layout, in AMD's order: OU, C, L, ST, O, CN. */
export function amdName(cn: string): NameAttributeInput[] {
  return [
    { type: 'OU', value: 'Engineering' },
    { type: 'C', value: 'US' },
    { type: 'L', value: 'Santa Clara' },
    { type: 'ST', value: 'CA' },
    { type: 'O', value: 'Advanced Micro Devices' },
    { type: 'CN', value: cn },
  ];
}

export const KDS_BASE_URL = 'https://kdsintf.amd.com';

/** The one CRL distribution point of an ARK or ASK (`vcek`), or of the ASVK (`vlek`). */
export function crlUrl(product: SnpProduct, chain: 'vcek' | 'vlek' = 'vcek'): string {
  return `${KDS_BASE_URL}/${chain}/v1/${product}/crl`;
}

/**
 * The VCEK `productName` extension as AMD's KDS issues it: Milan and Genoa with their stepping,
 * Turin without (virtee/sev's real Turin VCEK says `Turin`).
 */
export const DEFAULT_PRODUCT_NAMES: Readonly<Record<SnpProduct, string>> = {
  Milan: 'Milan-B0',
  Genoa: 'Genoa-B1',
  Turin: 'Turin',
};

/** Serial numbers as AMD numbers its roots: ARK 0x<n>0000, ASK 0x<n>0001 (n = 1 Milan, 2 Genoa, 3 Turin). */
export const ROOT_SERIALS: Readonly<Record<SnpProduct, { ark: number; ask: number }>> = {
  Milan: { ark: 0x10000, ask: 0x10001 },
  Genoa: { ark: 0x20000, ask: 0x20001 },
  Turin: { ark: 0x30000, ask: 0x30001 },
};

/**
 * When AMD issued each product's ARK; the ASK follows within the hour. Both are valid for 25 years,
 * which is what go-sev-guest's fakes use too.
 */
export const ROOT_ISSUED: Readonly<Record<SnpProduct, Date>> = {
  Milan: new Date('2020-10-22T17:23:05Z'),
  Genoa: new Date('2022-01-26T15:34:37Z'),
  Turin: new Date('2023-05-15T20:03:12Z'),
};

export const ROOT_VALIDITY_YEARS = 25;
/** A VCEK is valid for 7 years from the day KDS issues it. */
export const VCEK_VALIDITY_YEARS = 7;

export function addYears(date: Date, years: number): Date {
  const d = new Date(date.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/** The signing keys of AMD's root (ARK) and intermediate (ASK) for one product. */
export interface AmdRootKeys {
  readonly ark: KeyPair;
  readonly ask: KeyPair;
}

const FIXTURES = new URL('./fixtures/', import.meta.url);

export function fixtureKeyFile(product: SnpProduct, role: 'ark' | 'ask' | 'asvk'): URL {
  return new URL(`${product.toLowerCase()}-${role}.key.pem`, FIXTURES);
}

function loadRsa4096(file: URL): KeyPair {
  const hint = 'run `node sim/amd/fixtures/regenerate.ts` to recreate the fixture keys';
  let privateKey: KeyObject;
  try {
    privateKey = crypto.createPrivateKey(readFileSync(file));
  } catch (cause) {
    throw new Error(`fixture key ${file.pathname} cannot be read; ${hint}`, { cause });
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || privateKey.asymmetricKeyDetails?.modulusLength !== 4096) {
    throw new Error(`fixture key ${file.pathname} is not an RSA-4096 private key; ${hint}`);
  }
  return { privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

const fixtureCache = new Map<SnpProduct, AmdRootKeys>();

/**
 * The fixed ARK and ASK keys of `product`, read once. Another product's keys make a root that is not
 * the product's own: what a test needs for a "foreign" or impostor ARK.
 */
export function fixtureRootKeys(product: SnpProduct): AmdRootKeys {
  if (!SNP_PRODUCTS.includes(product)) throw new Error(`no fixture keys for product ${String(product)}`);
  let keys = fixtureCache.get(product);
  if (!keys) {
    keys = {
      ark: loadRsa4096(fixtureKeyFile(product, 'ark')),
      ask: loadRsa4096(fixtureKeyFile(product, 'ask')),
    };
    fixtureCache.set(product, keys);
  }
  return keys;
}

const asvkCache = new Map<SnpProduct, KeyPair>();

/** The fixed ASVK key of `product` (the VLEK chain's intermediate), read once. */
export function fixtureAsvkKey(product: SnpProduct): KeyPair {
  if (!SNP_PRODUCTS.includes(product)) throw new Error(`no fixture keys for product ${String(product)}`);
  let key = asvkCache.get(product);
  if (!key) {
    key = loadRsa4096(fixtureKeyFile(product, 'asvk'));
    asvkCache.set(product, key);
  }
  return key;
}

/** ARK, ASK and VCEK keys of one fake platform, for specs that build chains link by link. */
export interface FakeAmdKeys extends AmdRootKeys {
  readonly vcek: KeyPair;
}

/** `product`'s fixture ARK and ASK keys (default Milan's) and a new P-384 VCEK key (cheap to make). */
export function fixtureAmdKeys(product: SnpProduct = 'Milan'): FakeAmdKeys {
  return { ...fixtureRootKeys(product), vcek: crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }) };
}

/** Replaces fields of a certificate before it is signed, or its signature after. */
export interface CertOverride extends Partial<CertificateOptions> {
  /** VCEK only: KDS extension values laid over the genuine ones; `undefined` drops an extension. */
  readonly kds?: Partial<KdsExtensions>;
  /** VCEK only: write hwID raw (as every real VCEK does, the default) or as a tagged OCTET STRING. */
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

/** The certificate and key that sign the next link down. */
export interface Issuer {
  readonly cert: X509Certificate;
  readonly privateKey: KeyObject;
}

export function buildAsk(
  product: SnpProduct,
  ask: KeyPair,
  ark: Issuer,
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
  readonly ask: Issuer;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A VCEK: serial 0, no standard extensions, the KDS extensions in AMD's order. */
export function buildVcek(input: VcekInput, override?: CertOverride): X509Certificate {
  const extensions = encodeKdsExtensions(
    { ...input.extensions, ...override?.kds },
    { hwIdEncoding: override?.hwIdEncoding ?? 'raw' },
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

/**
 * The ASVK (`SEV-VLEK-<product>`): the VLEK chain's intermediate, signed by the same ARK as the ASK,
 * its CRL under `/vlek/v1/`, serial 0x<n>0101 (AMD's published VLEK `cert_chain`, testdata/go-sev-guest).
 */
export function buildAsvk(
  product: SnpProduct,
  asvk: KeyPair,
  ark: Issuer,
  override?: CertOverride,
): X509Certificate {
  const issued = new Date(ROOT_ISSUED[product].getTime() + 7_200_000);
  return finish(
    {
      serial: ROOT_SERIALS[product].ark + 0x101,
      subject: amdName(`SEV-VLEK-${product}`),
      issuer: subjectNameDer(ark.cert),
      notBefore: issued,
      notAfter: addYears(issued, ROOT_VALIDITY_YEARS),
      publicKey: asvk.publicKey,
      signingKey: ark.privateKey,
      signatureAlgorithm: 'rsa-pss-sha384',
      subjectKeyIdentifier: true,
      authorityKeyIdentifier: true,
      basicConstraints: { ca: true, pathLength: 0 },
      keyUsage: ['keyCertSign'],
      crlDistributionPoints: [crlUrl(product, 'vlek')],
    },
    override,
  );
}

/** A VLEK (`SEV-VLEK`): serial 0, the KDS extensions with csp_id instead of hwID, signed by the ASVK. */
export function buildVlek(input: VcekInput, override?: CertOverride): X509Certificate {
  const extensions = encodeKdsExtensions({ ...input.extensions, ...override?.kds });
  return finish(
    {
      serial: 0,
      subject: amdName('SEV-VLEK'),
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
