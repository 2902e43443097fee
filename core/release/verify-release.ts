/**
 * Is this release response the vault's? (docs/threat-model.md, "What must hold" 3: the agent verifies
 * the vault's answer before trusting the key.) The answer is a compact JWS whose header carries `x5c`: the vault's
 * signing certificate, then intermediates (and often the root). We check, in this order:
 *   1. the certificate chain from `x5c[0]` up to one of the trust roots (signatures, issuer names,
 *      validity at `now`), each issuer a CA whose path length constraint the chain respects;
 *   2. the leaf is a TLS server certificate (EKU serverAuth: the vault signs with its TLS certificate)
 *      naming the vault host in a dNSName SAN (RFC 6125; never the subject CN);
 *   3. `x5t#S256`, when present, is the leaf's thumbprint;
 *   4. the JWS signature with the leaf's key (jose, with an algorithm allow-list);
 *   5. the payload: our nonce echoed, the key we asked for on this vault, a `key_hsm` to unwrap.
 * Only then does the caller unwrap. No I/O; the clock is passed in.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, errors } from 'jose';
import { SecureKeyError } from '../errors.ts';
import {
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeKeyUsage,
  EXTENDED_KEY_USAGE_OIDS,
  EXTENSION_OIDS,
  getExtension,
  issuedBy,
} from '../x509/index.ts';

export type ReleaseVerifyErrorKind =
  /** Not a compact JWS, a header/payload that is not the JSON expected, or a `crit` extension. */
  | 'malformed'
  /** A JWS algorithm other than RS256/384/512, PS256/384/512, ES256/384. */
  | 'unsupported-alg'
  /** `x5c` missing, unparsable, or not chaining to a trust root. */
  | 'untrusted-chain'
  /** An issuing certificate is not a CA (basicConstraints cA, keyUsage keyCertSign). */
  | 'not-a-ca'
  /** More intermediates below a CA than its pathLenConstraint allows. */
  | 'path-too-long'
  /** The leaf (or an intermediate) is not for TLS servers: its extended key usage lacks serverAuth. */
  | 'wrong-purpose'
  /** A certificate in the chain is outside its validity period. */
  | 'certificate-expired'
  /** No dNSName SAN of the leaf names the vault host (the subject CN does not count). */
  | 'host-mismatch'
  /** `x5t#S256` is not the leaf's SHA-256 thumbprint. */
  | 'thumbprint-mismatch'
  /** The signature does not verify with the leaf's key. */
  | 'signature-invalid'
  /** The payload does not echo our nonce. */
  | 'nonce-mismatch'
  /** The payload is for another key or vault. */
  | 'key-mismatch';

export class ReleaseVerifyError extends SecureKeyError<ReleaseVerifyErrorKind> {}

export interface VerifyReleaseOptions {
  /** The roots the vault's signing certificate must chain to (the agent's default: vault-roots.ts). */
  trustRoots: readonly X509Certificate[];
  /** The vault host we called, e.g. `myhsm.managedhsm.azure.net`. */
  vaultHost: string;
  /** The key name we asked for. */
  keyName: string;
  /** The version we asked for, if any. */
  keyVersion?: string;
  /** The nonce we sent; the payload must echo it. */
  nonce?: string;
  now: Date;
}

export interface VerifiedRelease {
  /** The wrapped key: base64url JSON, for core/keywrap. */
  keyHsm: string;
  /** Key type as the payload says it (`oct`, `RSA`, `EC`, with or without `-HSM`). */
  kty: string;
  keyOps: string[];
  /** The released key's id: `https://<vault>/keys/<name>/<version>`. */
  kid: string;
  /** The wrap algorithm the vault used (`request.enc`). */
  enc: string | undefined;
  /**
   * When the released version was created (`response.key.attributes.created`, epoch seconds → ms), if
   * the payload says: a sidecar times its next release from it and the key's rotation interval.
   */
  createdAt?: number;
}

/** What Key Vault and Managed HSM sign with; no HMAC, no `none`. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'];
const MAX_CHAIN = 6;

export async function verifyRelease(jws: string, o: VerifyReleaseOptions): Promise<VerifiedRelease> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws) as Record<string, unknown>;
  } catch {
    throw new ReleaseVerifyError('malformed', 'the release response is not a compact JWS');
  }
  const alg = typeof header['alg'] === 'string' ? header['alg'] : '';
  if (!ALGORITHMS.includes(alg)) {
    throw new ReleaseVerifyError('unsupported-alg', `the release JWS uses alg ${JSON.stringify(alg)}`, {
      hint: `expected one of ${ALGORITHMS.join(', ')}`,
    });
  }
  // RFC 7515 §4.1.11: extensions we do not understand must be refused, and we understand none (jose
  // would honour `b64: false`, RFC 7797).
  if (header['crit'] !== undefined) {
    throw new ReleaseVerifyError('malformed', 'the release JWS header names crit extensions');
  }

  const chain = certificates(header['x5c']);
  const leaf = chain[0]!;
  checkIssuers(verifyChain(chain, o.trustRoots, o.now));
  checkServerAuth(leaf, 'the release signing certificate');
  if (!namesHost(leaf, o.vaultHost)) {
    throw new ReleaseVerifyError(
      'host-mismatch',
      `the release signing certificate (${leaf.subject.replace(/\n/g, ', ')}) has no DNS name for the vault host ${o.vaultHost}`,
    );
  }
  const x5t = header['x5t#S256'];
  if (x5t !== undefined) {
    const thumbprint = crypto.createHash('sha256').update(leaf.raw).digest('base64url');
    if (x5t !== thumbprint) {
      throw new ReleaseVerifyError('thumbprint-mismatch', 'x5t#S256 is not the thumbprint of x5c[0]');
    }
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, leaf.publicKey, { algorithms: ALGORITHMS }));
  } catch (err) {
    // A TypeError: the leaf's key cannot make `alg` signatures (another key type, or RSA under 2048 bits).
    if (!(err instanceof errors.JWSSignatureVerificationFailed || err instanceof TypeError)) {
      throw new ReleaseVerifyError('malformed', `the release JWS is not valid: ${(err as Error).message}`);
    }
    throw new ReleaseVerifyError(
      'signature-invalid',
      `the release JWS signature (${alg}) does not verify with x5c[0]`,
      {
        hint: 'the response was altered or re-signed on its way from the vault',
      },
    );
  }
  return payloadOf(jsonObject(payload), o);
}

function payloadOf(payload: Record<string, unknown>, o: VerifyReleaseOptions): VerifiedRelease {
  const request = object(payload['request']);
  const bundle = object(object(payload['response'])?.['key']);
  const key = object(bundle?.['key']);
  if (!key) throw new ReleaseVerifyError('malformed', 'the release payload has no response.key.key');
  const { key_hsm: keyHsm, kty, key_ops: keyOps, kid } = key;
  if (typeof keyHsm !== 'string' || keyHsm === '') {
    throw new ReleaseVerifyError('malformed', 'the release payload has no response.key.key.key_hsm');
  }
  if (typeof kty !== 'string')
    throw new ReleaseVerifyError('malformed', 'the release payload has no key type');
  if (typeof kid !== 'string') throw new ReleaseVerifyError('malformed', 'the release payload has no key id');
  if (o.nonce !== undefined && request?.['nonce'] !== o.nonce) {
    throw new ReleaseVerifyError(
      'nonce-mismatch',
      'the release payload does not echo the nonce of this request',
      {
        hint: 'a replayed or substituted response',
      },
    );
  }
  checkKid(kid, o);
  if (typeof request?.['kid'] === 'string') checkKid(request['kid'], o);
  const ops = Array.isArray(keyOps) ? keyOps.filter((op): op is string => typeof op === 'string') : [];
  return {
    keyHsm,
    kty,
    keyOps: ops,
    kid,
    enc: typeof request?.['enc'] === 'string' ? request['enc'] : undefined,
    ...createdAtOf(object(bundle?.['attributes'])?.['created']),
  };
}

/** Key Vault's `created`: NumericDate seconds; anything else is no date. */
function createdAtOf(created: unknown): { createdAt?: number } {
  return typeof created === 'number' && Number.isFinite(created) && created > 0
    ? { createdAt: created * 1000 }
    : {};
}

/** `https://<vaultHost>[:port]/keys/<name>[/<version>]`, for the key (and version) we asked for. */
function checkKid(kid: string, o: VerifyReleaseOptions): void {
  let url: URL | undefined;
  try {
    url = new URL(kid);
  } catch {
    url = undefined;
  }
  const [, keys, name, version] = url?.pathname.split('/') ?? [];
  const ok =
    url !== undefined &&
    url.hostname.toLowerCase() === o.vaultHost.toLowerCase() &&
    keys === 'keys' &&
    name?.toLowerCase() === o.keyName.toLowerCase() &&
    (o.keyVersion === undefined || version === o.keyVersion);
  if (!ok) {
    throw new ReleaseVerifyError(
      'key-mismatch',
      `the release payload is for ${kid}, not key ${o.keyName}${o.keyVersion ? ` version ${o.keyVersion}` : ''} on ${o.vaultHost}`,
    );
  }
}

function certificates(x5c: unknown): X509Certificate[] {
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > MAX_CHAIN) {
    throw new ReleaseVerifyError('untrusted-chain', 'the release JWS header has no usable x5c chain');
  }
  return x5c.map((entry, i) => {
    try {
      if (typeof entry !== 'string') throw new Error('not a string');
      return new X509Certificate(Buffer.from(entry, 'base64'));
    } catch {
      throw new ReleaseVerifyError('untrusted-chain', `x5c[${i}] is not a base64 DER certificate`);
    }
  });
}

/**
 * Walks from the leaf: each certificate is either issued by a trust root (done), identical to one
 * (done), or issued by the next certificate in `x5c`. Returns the path, leaf first, root last.
 */
function verifyChain(
  chain: X509Certificate[],
  roots: readonly X509Certificate[],
  now: Date,
): X509Certificate[] {
  for (const [i, cert] of chain.entries()) {
    checkValidity(cert, `x5c[${i}]`, now);
    if (roots.some((r) => r.raw.equals(cert.raw))) return chain.slice(0, i + 1);
    const root = roots.find((r) => issuedBy(cert, r));
    if (root) {
      checkValidity(root, 'the trust root', now);
      return [...chain.slice(0, i + 1), root];
    }
    const next = chain[i + 1];
    if (!next || !issuedBy(cert, next)) break;
  }
  throw new ReleaseVerifyError(
    'untrusted-chain',
    `the release signing certificate (${chain[0]!.subject.replace(/\n/g, ', ')}) does not chain to a trust root`,
    { hint: 'a man in the middle, or SECUREKEY_RELEASE_TRUST_ROOTS does not hold the vault’s root' },
  );
}

/**
 * RFC 5280 §6.1.4: every intermediate is a CA (basicConstraints cA, keyCertSign when keyUsage is
 * present) and no CA, the root included, has more intermediates below it than its pathLenConstraint.
 * An intermediate restricted by EKU must allow serverAuth, as TLS clients require.
 */
function checkIssuers(path: X509Certificate[]): void {
  for (let j = 1; j < path.length; j++) {
    const cert = path[j]!;
    const isRoot = j === path.length - 1;
    const what = isRoot ? 'the trust root' : `x5c[${j}]`;
    const constraints = extension(cert, EXTENSION_OIDS.basicConstraints, decodeBasicConstraints, what);
    const usage = extension(cert, EXTENSION_OIDS.keyUsage, decodeKeyUsage, what);
    if (!isRoot && (!constraints?.ca || (usage && !usage.includes('keyCertSign')))) {
      throw new ReleaseVerifyError(
        'not-a-ca',
        `${what} (${cert.subject.replace(/\n/g, ', ')}) issues x5c[${j - 1}] but is not a CA`,
      );
    }
    const below = j - 1;
    if (constraints?.pathLength !== undefined && below > constraints.pathLength) {
      throw new ReleaseVerifyError(
        'path-too-long',
        `${what} allows ${constraints.pathLength} intermediate CA(s) below it, the chain has ${below}`,
      );
    }
    if (!isRoot) checkServerAuth(cert, what, { required: false });
  }
}

/** The leaf must name serverAuth; a CA only when it restricts its purposes at all. */
function checkServerAuth(cert: X509Certificate, what: string, o = { required: true }): void {
  const purposes = extension(cert, EXTENSION_OIDS.extKeyUsage, decodeExtKeyUsage, what);
  if (purposes === undefined ? o.required : !purposes.includes(EXTENDED_KEY_USAGE_OIDS.serverAuth)) {
    throw new ReleaseVerifyError(
      'wrong-purpose',
      `${what} is not for TLS servers (extended key usage ${purposes?.join(', ') ?? 'absent'})`,
      { hint: 'the vault signs releases with its TLS server certificate' },
    );
  }
}

/**
 * RFC 6125 §6.4 by OpenSSL's matcher: a dNSName equal to the host, or a wildcard standing for its whole
 * left-most label (not `*.com`, no partial wildcards); the subject CN never counts.
 */
function namesHost(leaf: X509Certificate, host: string): boolean {
  return (
    leaf.checkHost(host.replace(/\.$/, ''), {
      subject: 'never',
      wildcards: true,
      partialWildcards: false,
      multiLabelWildcards: false,
    }) !== undefined
  );
}

/** A certificate extension decoded; a malformed one makes the chain untrusted. */
function extension<T>(
  cert: X509Certificate,
  oid: string,
  decode: (value: Buffer) => T,
  what: string,
): T | undefined {
  try {
    const ext = getExtension(cert, oid);
    return ext && decode(ext.value);
  } catch {
    throw new ReleaseVerifyError('untrusted-chain', `${what} has a malformed extension ${oid}`);
  }
}

function checkValidity(cert: X509Certificate, what: string, now: Date): void {
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new ReleaseVerifyError(
      'certificate-expired',
      `${what} is valid from ${cert.validFrom} to ${cert.validTo}, not at ${now.toISOString()}`,
    );
  }
}

function jsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ReleaseVerifyError('malformed', 'the release JWS payload is not JSON');
  }
  const obj = object(value);
  if (!obj) throw new ReleaseVerifyError('malformed', 'the release JWS payload is not a JSON object');
  return obj;
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
