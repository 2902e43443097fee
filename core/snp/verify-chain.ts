/**
 * Is the certificate chain genuine? VCEK ← ASK ← ARK up to an ARK the caller pins (AMD's published
 * root by default): slot order, product, pin, RSASSA-PSS SHA-384 / salt 48 on every link, key types,
 * AMD's names, signatures and validity, then the VCEK's KDS extensions are decoded for the report check.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import {
  attributeValues,
  issuerAttributes,
  publicKeyOf,
  signatureAlgorithm,
  subjectAttributes,
  X509Error,
  type NameAttribute,
  type NameAttributeType,
} from '../x509/index.ts';
import { amdRoots } from './amd-roots.ts';
import {
  identifyAmdCertificate,
  toCertificate,
  type AmdCertificateRole,
  type CertificateSource,
  type VcekChain,
} from './chain.ts';
import { SnpVerifyError } from './errors.ts';
import { decodeKdsExtensions, type KdsExtensions } from './kds.ts';
import type { SnpProduct } from './tcb.ts';

export interface VerifyChainOptions {
  /** The time certificates must be valid at (the core has no clock). */
  readonly now: Date;
  /** The expected product; by default the product the presented ARK names. */
  readonly product?: SnpProduct;
  /** The ARK to trust; by default the pinned AMD ARK of the product (amd-roots.ts). */
  readonly trustedArk?: CertificateSource;
}

export interface VerifiedChain {
  readonly product: SnpProduct;
  readonly vcek: X509Certificate;
  readonly ask: X509Certificate;
  readonly ark: X509Certificate;
  /** The VCEK's KDS extensions (TCB, hwID, product name). */
  readonly extensions: KdsExtensions;
  /** Whether the presented ARK equals the pinned one byte for byte, or only by public key. */
  readonly rootMatchedBy: 'der' | 'public-key';
}

/** The subject attributes every AMD SEV certificate carries exactly once (AMD KDS spec 57230), besides CN. */
export const AMD_NAME_ATTRIBUTES = {
  OU: 'Engineering',
  C: 'US',
  L: 'Santa Clara',
  ST: 'CA',
  O: 'Advanced Micro Devices',
} as const;

const ROLE_NAMES: Readonly<Record<AmdCertificateRole, string>> = {
  ark: 'ARK',
  ask: 'ASK',
  asvk: 'ASVK',
  vcek: 'VCEK',
  vlek: 'VLEK',
};

function checkSlot(cert: X509Certificate, slot: 'ark' | 'ask' | 'vcek'): void {
  const { role, commonName } = identifyAmdCertificate(cert);
  if (role === slot) return;
  const article = role && /^[AEIOU]/.test(ROLE_NAMES[role]) ? 'an' : 'a';
  const got = role ? `${article} ${ROLE_NAMES[role]} (CN ${commonName})` : `CN ${commonName ?? '(none)'}`;
  const message = `the ${ROLE_NAMES[slot]} slot holds ${got}`;
  if (slot === 'ark' && (role === 'ask' || role === 'asvk')) {
    throw new SnpVerifyError('ask-in-ark-slot', message, {
      hint: 'the chain must be ordered VCEK, ASK, ARK',
    });
  }
  if (slot === 'ask' && role === 'ark') {
    throw new SnpVerifyError('ark-in-ask-slot', message, {
      hint: 'the chain must be ordered VCEK, ASK, ARK',
    });
  }
  if (role === 'vlek' || role === 'asvk') {
    throw new SnpVerifyError('unsupported-signing-key', `${message}; VLEK chains are not supported`);
  }
  throw new SnpVerifyError('wrong-slot', message, { hint: 'the chain must be ordered VCEK, ASK, ARK' });
}

function checkName(attrs: readonly NameAttribute[], cn: string, what: string): void {
  const expected: Record<string, string> = { ...AMD_NAME_ATTRIBUTES, CN: cn };
  for (const [type, value] of Object.entries(expected)) {
    const values = attributeValues(attrs, type as NameAttributeType);
    if (values.length !== 1 || values[0] !== value) {
      throw new SnpVerifyError(
        'subject-mismatch',
        `${what} ${type} is ${values.length ? values.map((v) => `"${v}"`).join(', ') : 'missing'}, expected "${value}" once`,
      );
    }
  }
  if (attrs.length !== Object.keys(expected).length) {
    throw new SnpVerifyError(
      'subject-mismatch',
      `${what} has ${attrs.length} attributes, expected exactly OU, C, L, ST, O, CN`,
    );
  }
}

/** RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt: the only algorithm AMD signs with. */
function checkAlgorithm(cert: X509Certificate, what: string): void {
  let alg;
  try {
    alg = signatureAlgorithm(cert);
  } catch (err) {
    if (err instanceof X509Error) {
      throw new SnpVerifyError('unsupported-algorithm', `${what}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const ok =
    alg.kind === 'rsa-pss' && alg.hash === 'sha384' && alg.mgf1Hash === 'sha384' && alg.saltLength === 48;
  if (!ok) {
    const desc =
      alg.kind === 'rsa-pss'
        ? `RSA-PSS ${alg.hash}/MGF1-${alg.mgf1Hash}/salt ${alg.saltLength}`
        : `${alg.kind} (${alg.oid})`;
    throw new SnpVerifyError(
      'unsupported-algorithm',
      `${what} is signed with ${desc}, expected RSA-PSS SHA-384/MGF1-SHA-384/salt 48`,
    );
  }
}

function checkRsa4096(cert: X509Certificate, what: string): void {
  const key = publicKeyOf(cert, what);
  if (key.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== 4096) {
    throw new SnpVerifyError(
      'bad-key',
      `${what} key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.modulusLength ?? ''}, expected RSA-4096`,
    );
  }
}

export function checkP384(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new SnpVerifyError(
      'bad-key',
      `${what} key is ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''}, expected EC P-384`,
    );
  }
}

function checkLink(child: X509Certificate, issuer: X509Certificate, what: string): void {
  if (!child.checkIssued(issuer)) {
    throw new SnpVerifyError(
      'subject-mismatch',
      `${what} was not issued by its parent (issuer name, key identifier or key usage differ)`,
    );
  }
  if (!child.verify(publicKeyOf(issuer, `${what}'s issuer`))) {
    throw new SnpVerifyError(
      'chain-signature-invalid',
      `${what} signature does not verify with its issuer's key`,
    );
  }
}

function checkValidity(cert: X509Certificate, now: Date, what: string): void {
  if (now.getTime() < cert.validFromDate.getTime()) {
    throw new SnpVerifyError(
      'not-yet-valid',
      `${what} is valid from ${cert.validFromDate.toISOString()}, now is ${now.toISOString()}`,
    );
  }
  if (now.getTime() > cert.validToDate.getTime()) {
    throw new SnpVerifyError(
      'expired',
      `${what} expired at ${cert.validToDate.toISOString()}, now is ${now.toISOString()}`,
      {
        hint: what === 'VCEK' ? 'fetch a current VCEK from KDS/THIM' : undefined,
      },
    );
  }
}

const spki = (cert: X509Certificate, what: string): Buffer =>
  publicKeyOf(cert, what).export({ type: 'spki', format: 'der' });

/** Verifies VCEK ← ASK ← ARK up to the pinned ARK. */
export function verifyVcekChain(chain: VcekChain, options: VerifyChainOptions): VerifiedChain {
  const vcek = toCertificate(chain.vcek, 'VCEK');
  const ask = toCertificate(chain.ask, 'ASK');
  const ark = toCertificate(chain.ark, 'ARK');
  checkSlot(ark, 'ark');
  checkSlot(ask, 'ask');
  checkSlot(vcek, 'vcek');

  const product = identifyAmdCertificate(ark).product!;
  const askProduct = identifyAmdCertificate(ask).product!;
  if (askProduct !== product) {
    throw new SnpVerifyError('product-mismatch', `the ASK is for ${askProduct} but the ARK for ${product}`);
  }
  if (options.product !== undefined && options.product !== product) {
    throw new SnpVerifyError('product-mismatch', `expected a ${options.product} chain, got ${product}`);
  }

  const pinned =
    options.trustedArk === undefined
      ? amdRoots(product).ark
      : toCertificate(options.trustedArk, 'trusted ARK');
  let rootMatchedBy: VerifiedChain['rootMatchedBy'];
  if (pinned.raw.equals(ark.raw)) rootMatchedBy = 'der';
  else if (spki(pinned, 'trusted ARK').equals(spki(ark, 'ARK'))) rootMatchedBy = 'public-key';
  else {
    throw new SnpVerifyError(
      'untrusted-root',
      `the presented ARK (${identifyAmdCertificate(ark).commonName}) is not the pinned ARK`,
      {
        hint:
          options.trustedArk === undefined
            ? `the chain does not lead to AMD's published ${product} root`
            : undefined,
      },
    );
  }

  checkAlgorithm(ark, 'ARK');
  checkAlgorithm(ask, 'ASK');
  checkAlgorithm(vcek, 'VCEK');
  checkRsa4096(ark, 'ARK');
  checkRsa4096(ask, 'ASK');
  checkP384(publicKeyOf(vcek, 'VCEK'), 'VCEK');

  checkName(subjectAttributes(ark), `ARK-${product}`, 'ARK subject');
  checkName(issuerAttributes(ark), `ARK-${product}`, 'ARK issuer');
  checkName(subjectAttributes(ask), `SEV-${product}`, 'ASK subject');
  checkName(issuerAttributes(ask), `ARK-${product}`, 'ASK issuer');
  checkName(subjectAttributes(vcek), 'SEV-VCEK', 'VCEK subject');
  checkName(issuerAttributes(vcek), `SEV-${product}`, 'VCEK issuer');

  checkLink(ark, ark, 'ARK (self-signed)');
  checkLink(ask, ark, 'ASK');
  checkLink(vcek, ask, 'VCEK');

  checkValidity(ark, options.now, 'ARK');
  checkValidity(ask, options.now, 'ASK');
  checkValidity(vcek, options.now, 'VCEK');

  const extensions = decodeKdsExtensions(vcek);
  const named = extensions.productName?.split('-')[0];
  if (named !== product) {
    throw new SnpVerifyError(
      'product-mismatch',
      `VCEK productName is ${extensions.productName === undefined ? 'missing' : `"${extensions.productName}"`}, expected ${product}`,
    );
  }
  return { product, vcek, ask, ark, extensions, rootMatchedBy };
}
