/**
 * Is this release response the vault's? (DESIGN §4: "the agent verifies the vault's release response
 * before trusting the key".) The answer is a compact JWS whose header carries `x5c`: the vault's
 * signing certificate, then intermediates (and often the root). We check, in this order:
 *   1. the certificate chain from `x5c[0]` up to one of the configured trust roots (signatures,
 *      issuer names, CA flags, validity at `now`);
 *   2. the leaf names the vault host we called (SAN, as TLS would check it);
 *   3. `x5t#S256`, when present, is the leaf's thumbprint;
 *   4. the JWS signature with the leaf's key;
 *   5. the payload: our nonce echoed, the key we asked for on this vault, a `key_hsm` to unwrap.
 * Only then does the caller unwrap. Pure: no I/O, the clock is passed in.
 */
import crypto, { X509Certificate } from 'node:crypto';
import { SecureKeyError } from '../../core/errors.ts';

export type ReleaseVerifyErrorKind =
  /** Not three base64url parts, or a header/payload that is not the JSON expected. */
  | 'malformed'
  /** A JWS algorithm other than RS256/384/512, PS256/384/512, ES256/384. */
  | 'unsupported-alg'
  /** `x5c` missing, unparsable, or not chaining to a configured root. */
  | 'untrusted-chain'
  /** A certificate in the chain is outside its validity period. */
  | 'certificate-expired'
  /** The leaf does not name the vault host. */
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
  /** The roots the vault's signing certificate must chain to. */
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
}

const ALGS: Record<string, { hash: string; type: 'rsa' | 'pss' | 'ec' }> = {
  RS256: { hash: 'sha256', type: 'rsa' },
  RS384: { hash: 'sha384', type: 'rsa' },
  RS512: { hash: 'sha512', type: 'rsa' },
  PS256: { hash: 'sha256', type: 'pss' },
  PS384: { hash: 'sha384', type: 'pss' },
  PS512: { hash: 'sha512', type: 'pss' },
  ES256: { hash: 'sha256', type: 'ec' },
  ES384: { hash: 'sha384', type: 'ec' },
};
const MAX_CHAIN = 6;

export function verifyRelease(jws: string, o: VerifyReleaseOptions): VerifiedRelease {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw new ReleaseVerifyError('malformed', 'the release response is not a compact JWS');
  }
  const [headerB64, payloadB64, signatureB64] = parts as [string, string, string];
  const header = jsonObject(headerB64, 'header');
  const alg = typeof header['alg'] === 'string' ? header['alg'] : '';
  const algorithm = ALGS[alg];
  if (!algorithm) {
    throw new ReleaseVerifyError('unsupported-alg', `the release JWS uses alg ${JSON.stringify(alg)}`, {
      hint: `expected one of ${Object.keys(ALGS).join(', ')}`,
    });
  }

  const chain = certificates(header['x5c']);
  const leaf = chain[0]!;
  verifyChain(chain, o.trustRoots, o.now);
  if (leaf.checkHost(o.vaultHost) === undefined) {
    throw new ReleaseVerifyError(
      'host-mismatch',
      `the release signing certificate (${leaf.subject.replace(/\n/g, ', ')}) does not name the vault host ${o.vaultHost}`,
    );
  }
  const x5t = header['x5t#S256'];
  if (x5t !== undefined) {
    const thumbprint = crypto.createHash('sha256').update(leaf.raw).digest('base64url');
    if (x5t !== thumbprint) {
      throw new ReleaseVerifyError('thumbprint-mismatch', 'x5t#S256 is not the thumbprint of x5c[0]');
    }
  }
  const signature = Buffer.from(signatureB64, 'base64url');
  const signed = Buffer.from(`${headerB64}.${payloadB64}`, 'ascii');
  let ok: boolean;
  try {
    ok = crypto.verify(
      algorithm.hash,
      signed,
      algorithm.type === 'pss'
        ? {
            key: leaf.publicKey,
            padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
            saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
          }
        : algorithm.type === 'ec'
          ? { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }
          : leaf.publicKey,
      signature,
    );
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new ReleaseVerifyError(
      'signature-invalid',
      `the release JWS signature (${alg}) does not verify with x5c[0]`,
      {
        hint: 'the response was altered or re-signed on its way from the vault',
      },
    );
  }
  return payloadOf(jsonObject(payloadB64, 'payload'), o);
}

function payloadOf(payload: Record<string, unknown>, o: VerifyReleaseOptions): VerifiedRelease {
  const request = object(payload['request']);
  const key = object(object(object(payload['response'])?.['key'])?.['key']);
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
  };
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
 * (done), or issued by the next certificate in `x5c`, which must be a CA.
 */
function verifyChain(chain: X509Certificate[], roots: readonly X509Certificate[], now: Date): void {
  for (const [i, cert] of chain.entries()) {
    checkValidity(cert, `x5c[${i}]`, now);
    if (roots.some((r) => r.raw.equals(cert.raw))) return;
    const root = roots.find((r) => issued(cert, r));
    if (root) {
      checkValidity(root, 'the trust root', now);
      return;
    }
    const next = chain[i + 1];
    if (!next || !next.ca || !issued(cert, next)) break;
  }
  throw new ReleaseVerifyError(
    'untrusted-chain',
    `the release signing certificate (${chain[0]!.subject.replace(/\n/g, ', ')}) does not chain to a configured trust root`,
    { hint: 'a man in the middle, or SECUREKEY_RELEASE_TRUST_ROOTS does not hold the vault’s root' },
  );
}

function issued(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
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

function jsonObject(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new ReleaseVerifyError('malformed', `the release JWS ${what} is not JSON`);
  }
  const obj = object(value);
  if (!obj) throw new ReleaseVerifyError('malformed', `the release JWS ${what} is not a JSON object`);
  return obj;
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
