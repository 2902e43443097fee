/**
 * Is the certificate chain genuine? VCEK ← ASK ← ARK, or VLEK ← ASVK ← ARK, up to an ARK the caller
 * pins (AMD's published root by default): slot order, product, pin, RSASSA-PSS SHA-384 / salt 48 on
 * every link, key types, AMD's names, signatures and validity, then the leaf's KDS extensions are
 * decoded for the report check. A VLEK (a key AMD issues to a cloud provider, not to a chip) is
 * certified by the ASVK, `SEV-VLEK-<product>`, which the same ARK signs (KDS spec 57230; go-sev-guest
 * verifies such chains).
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
  /** Which key the leaf is: a chip's VCEK or a cloud provider's VLEK. */
  readonly signingKey: 'vcek' | 'vlek';
  /** The leaf: the VCEK, or the VLEK. */
  readonly vcek: X509Certificate;
  /** The intermediate: the ASK, or for a VLEK the ASVK. */
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

type Slot = 'ark' | 'ask' | 'vcek';

function checkSlot(cert: X509Certificate, slot: Slot, leaf: 'vcek' | 'vlek'): void {
  const { role, commonName } = identifyAmdCertificate(cert);
  if (role === slot && (leaf === 'vcek' || slot === 'ark')) return;
  if (leaf === 'vlek' && ((slot === 'vcek' && role === 'vlek') || (slot === 'ask' && role === 'asvk')))
    return;
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
  throw new SnpVerifyError('wrong-slot', message, {
    hint:
      leaf === 'vlek'
        ? 'a VLEK chain must be ordered VLEK, ASVK, ARK'
        : 'the chain must be ordered VCEK, ASK, ARK (or VLEK, ASVK, ARK)',
  });
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

/**
 * Verifies VCEK ← ASK ← ARK, or VLEK ← ASVK ← ARK, up to the pinned ARK. The leaf's CN says which
 * (`SEV-VCEK` or `SEV-VLEK`); `expectedKey`, when given (the report's SIGNING_KEY), must agree.
 */
export function verifyVcekChain(
  chain: VcekChain,
  options: VerifyChainOptions & { readonly expectedKey?: 'vcek' | 'vlek' },
): VerifiedChain {
  const leafCert = toCertificate(chain.vcek, 'VCEK');
  const signingKey = identifyAmdCertificate(leafCert).role === 'vlek' ? 'vlek' : 'vcek';
  if (options.expectedKey !== undefined && options.expectedKey !== signingKey) {
    throw new SnpVerifyError(
      'unsupported-signing-key',
      `the report says a ${options.expectedKey.toUpperCase()} signed it, but the chain's leaf is a ${signingKey.toUpperCase()}`,
      {
        hint:
          options.expectedKey === 'vlek'
            ? "send the VLEK and ASVK from the host's certificate table (THIM serves only VCEKs)"
            : undefined,
      },
    );
  }
  const LEAF = signingKey === 'vlek' ? 'VLEK' : 'VCEK';
  const MID = signingKey === 'vlek' ? 'ASVK' : 'ASK';
  const vcek = leafCert;
  const ask = toCertificate(chain.ask, MID);
  const ark = toCertificate(chain.ark, 'ARK');
  checkSlot(ark, 'ark', signingKey);
  checkSlot(ask, 'ask', signingKey);
  checkSlot(vcek, 'vcek', signingKey);

  const product = identifyAmdCertificate(ark).product!;
  const askProduct = identifyAmdCertificate(ask).product!;
  if (askProduct !== product) {
    throw new SnpVerifyError(
      'product-mismatch',
      `the ${MID} is for ${askProduct} but the ARK for ${product}`,
    );
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
  checkAlgorithm(ask, MID);
  checkAlgorithm(vcek, LEAF);
  checkRsa4096(ark, 'ARK');
  checkRsa4096(ask, MID);
  checkP384(publicKeyOf(vcek, LEAF), LEAF);

  const intermediate = signingKey === 'vlek' ? `SEV-VLEK-${product}` : `SEV-${product}`;
  checkName(subjectAttributes(ark), `ARK-${product}`, 'ARK subject');
  checkName(issuerAttributes(ark), `ARK-${product}`, 'ARK issuer');
  checkName(subjectAttributes(ask), intermediate, `${MID} subject`);
  checkName(issuerAttributes(ask), `ARK-${product}`, `${MID} issuer`);
  checkName(subjectAttributes(vcek), `SEV-${LEAF}`, `${LEAF} subject`);
  checkName(issuerAttributes(vcek), intermediate, `${LEAF} issuer`);

  checkLink(ark, ark, 'ARK (self-signed)');
  checkLink(ask, ark, MID);
  checkLink(vcek, ask, LEAF);

  checkValidity(ark, options.now, 'ARK');
  checkValidity(ask, options.now, MID);
  checkValidity(vcek, options.now, LEAF);

  const extensions = decodeKdsExtensions(vcek);
  const named = extensions.productName?.split('-')[0];
  if (named !== product) {
    throw new SnpVerifyError(
      'product-mismatch',
      `${LEAF} productName is ${extensions.productName === undefined ? 'missing' : `"${extensions.productName}"`}, expected ${product}`,
    );
  }
  if (signingKey === 'vlek' && extensions.hwId !== undefined) {
    throw new SnpVerifyError('chip-id-mismatch', 'the VLEK carries a hwID: a VLEK belongs to no chip');
  }
  return { product, signingKey, vcek, ask, ark, extensions, rootMatchedBy };
}
