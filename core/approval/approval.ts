/**
 * Approval signatures (ADR 24): a pod's policy digest is admitted to a SecureKey's release policy only
 * when someone other than the pod's creator vouched for it. That someone signs, where the policy is
 * generated (CI, after `securekey inject` and genpolicy), a compact JWS over the digest, its scheme, the
 * namespace and the SecureKeys it is for, with an optional expiry; `securekey approve` writes it into
 * the pod template's `securekey.io/approval` annotation. A pod creator can copy an approval but not make
 * one, and a copied approval only admits the digest it names, in the namespace and SecureKeys it names.
 *
 * Several signers may approve one pod: the annotation holds one or more compact JWSs separated by
 * commas. Verification is split so the operator can cache the costly half: `parseApprovals` (shape,
 * bounded) and `verifySignature` (jose, per JWS and signer key) are pure functions of their input;
 * `judgeApprovals` applies the SecureKey, the pod's digest and the clock to the verified claims.
 */
import { CompactSign, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { POLICY_SCHEMES } from '../api/securekey.generated.ts';
import { SecureKeyError } from '../errors.ts';
import { jwkThumbprint } from '../keys/jwk-thumbprint.ts';

/** The pod annotation that carries approvals. */
export const APPROVAL_ANNOTATION = 'securekey.io/approval';
/** The JWS `typ` of an approval, so no other signed object of the same key is mistaken for one. */
export const APPROVAL_TYPE = 'securekey-approval+jws';
/** Signature algorithms an approver key may use. */
export const APPROVAL_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'RS256'] as const;
/** An annotation longer than this is refused unread: approvals are a few hundred bytes each. */
export const MAX_APPROVAL_ANNOTATION_BYTES = 16 * 1024;
/** At most this many signatures on one pod. */
export const MAX_APPROVALS_PER_POD = 8;
/**
 * Node mode's scheme (ADR 39): the digest is core/workload's containerDigest of the pod's containers,
 * not a policy digest; a pod-mode SecureKey never compares a policy digest with it.
 */
export const NODE_CONTAINERS_SCHEME = 'node-containers';
/** What an approval may name: a policy scheme (pod mode) or node mode's container digest. */
export const APPROVAL_SCHEMES = [...POLICY_SCHEMES, NODE_CONTAINERS_SCHEME] as const;
export type ApprovalScheme = (typeof APPROVAL_SCHEMES)[number];
/** Clock skew tolerated on `iat` (a signer's clock slightly ahead of the cluster's). */
const IAT_SKEW_S = 300;

export type ApprovalErrorKind =
  /** Not compact JWSs, a header or payload that is not the JSON an approval has, too long, too many. */
  | 'malformed'
  /** A signer key that is not a public EC, OKP or RSA JWK, or holds private members. */
  | 'bad-approver-key'
  /** A JWS algorithm outside APPROVAL_ALGORITHMS, or one that does not fit the signer's key. */
  | 'unsupported-alg';

export class ApprovalError extends SecureKeyError<ApprovalErrorKind> {}

/** What an approver signs. */
export interface ApprovalClaims {
  namespace: string;
  /** The SecureKeys the pod asks for keys of (names in `namespace`), sorted. */
  secureKeys: string[];
  scheme: ApprovalScheme;
  /**
   * The pod's digest under `scheme`, 64 lowercase hex: a policy scheme's SEV-SNP HOST_DATA, or
   * node-containers' container digest.
   */
  digest: string;
  /** Seconds since the epoch. */
  iat: number;
  /** Seconds since the epoch; absent: the approval does not expire. */
  exp?: number;
}

/** One approval as read from the annotation, before its signature is checked. */
export interface ParsedApproval {
  jws: string;
  /** The signer key's RFC 7638 thumbprint, from the protected header. */
  kid: string;
  alg: string;
}

/** A trusted signer: spec.workloads.approvers[]. */
export interface Approver {
  name: string;
  /** A public JWK (spec.workloads.approvers[].publicKey). */
  publicKey: object;
}

const HEX64 = /^[0-9a-f]{64}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Splits and shape-checks an approval annotation. Throws ApprovalError `malformed`. */
export function parseApprovals(value: string): ParsedApproval[] {
  if (Buffer.byteLength(value, 'utf8') > MAX_APPROVAL_ANNOTATION_BYTES) {
    throw new ApprovalError(
      'malformed',
      `${APPROVAL_ANNOTATION} is longer than ${MAX_APPROVAL_ANNOTATION_BYTES} bytes`,
    );
  }
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (parts.length === 0) throw new ApprovalError('malformed', `${APPROVAL_ANNOTATION} is empty`);
  if (parts.length > MAX_APPROVALS_PER_POD) {
    throw new ApprovalError(
      'malformed',
      `${APPROVAL_ANNOTATION} holds ${parts.length} signatures; at most ${MAX_APPROVALS_PER_POD} are read`,
    );
  }
  return parts.map((jws, i) => {
    const where = `${APPROVAL_ANNOTATION} signature ${i + 1}`;
    if (!COMPACT_JWS.test(jws)) throw new ApprovalError('malformed', `${where} is not a compact JWS`);
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(jws) as Record<string, unknown>;
    } catch {
      throw new ApprovalError('malformed', `${where}: the protected header is not base64url JSON`);
    }
    if (header['typ'] !== APPROVAL_TYPE) {
      throw new ApprovalError(
        'malformed',
        `${where}: typ is ${JSON.stringify(header['typ'])}, not ${APPROVAL_TYPE}`,
      );
    }
    if (header['crit'] !== undefined)
      throw new ApprovalError('malformed', `${where}: crit is not understood`);
    const { kid, alg } = header;
    if (typeof kid !== 'string' || kid === '' || typeof alg !== 'string') {
      throw new ApprovalError('malformed', `${where}: the header lacks kid or alg`);
    }
    return { jws, kid, alg };
  });
}

/** Checks an approver's key is a public signing JWK and returns its thumbprint (the `kid` approvals carry). */
export function approverKeyId(jwk: object): string {
  const publicKey = jwk as Readonly<Record<string, unknown>>;
  const kty = publicKey['kty'];
  if (kty !== 'EC' && kty !== 'OKP' && kty !== 'RSA') {
    throw new ApprovalError(
      'bad-approver-key',
      `approver keys are EC, OKP or RSA JWKs, not ${JSON.stringify(kty)}`,
    );
  }
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
    if (publicKey[member] !== undefined) {
      throw new ApprovalError('bad-approver-key', `an approver key must be public; it holds ${member}`);
    }
  }
  try {
    return jwkThumbprint(publicKey);
  } catch (err) {
    throw new ApprovalError('bad-approver-key', `approver key: ${(err as Error).message}`);
  }
}

/**
 * The claims of `approval` if its signature verifies with `publicKey` (whose thumbprint the approval
 * names); undefined when it does not. Throws ApprovalError for a malformed payload or a refused alg.
 */
export async function verifySignature(
  approval: ParsedApproval,
  publicKey: object,
): Promise<ApprovalClaims | undefined> {
  if (!(APPROVAL_ALGORITHMS as readonly string[]).includes(approval.alg)) {
    throw new ApprovalError(
      'unsupported-alg',
      `approval algorithm ${approval.alg} is not one of ${APPROVAL_ALGORITHMS.join(', ')}`,
    );
  }
  let payload: Uint8Array;
  try {
    const key = await importJWK({ ...publicKey, alg: approval.alg } as JWK, approval.alg);
    ({ payload } = await compactVerify(approval.jws, key, { algorithms: [approval.alg] }));
  } catch (err) {
    const name = (err as { code?: unknown }).code;
    if (name === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return undefined;
    throw new ApprovalError('unsupported-alg', `approval signed with ${approval.alg} does not fit its key`, {
      cause: err,
    });
  }
  return claimsOf(payload);
}

function claimsOf(payload: Uint8Array): ApprovalClaims {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new ApprovalError('malformed', 'approval payload is not JSON');
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const bad = (field: string, want: string): never => {
    throw new ApprovalError('malformed', `approval payload: ${field} must be ${want}`);
  };
  if (typeof o['namespace'] !== 'string' || o['namespace'] === '') bad('namespace', 'a namespace name');
  const keys = o['secureKeys'];
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    keys.length > 32 ||
    !keys.every((k) => typeof k === 'string')
  ) {
    bad('secureKeys', 'a list of 1 to 32 SecureKey names');
  }
  if (!(APPROVAL_SCHEMES as readonly unknown[]).includes(o['scheme']))
    bad('scheme', APPROVAL_SCHEMES.join(', '));
  if (typeof o['digest'] !== 'string' || !HEX64.test(o['digest']))
    bad('digest', '64 lowercase hex characters');
  if (!Number.isSafeInteger(o['iat'])) bad('iat', 'seconds since the epoch');
  if (o['exp'] !== undefined && !Number.isSafeInteger(o['exp'])) bad('exp', 'seconds since the epoch');
  const claims: ApprovalClaims = {
    namespace: o['namespace'] as string,
    secureKeys: [...(keys as string[])].sort(),
    scheme: o['scheme'] as ApprovalScheme,
    digest: o['digest'] as string,
    iat: o['iat'] as number,
  };
  if (o['exp'] !== undefined) claims.exp = o['exp'] as number;
  return claims;
}

/** Signs an approval with a private JWK (EC, OKP or RSA); `alg` defaults by key type. */
export async function signApproval(
  claims: ApprovalClaims,
  privateKey: Readonly<Record<string, unknown>>,
): Promise<string> {
  if (privateKey['d'] === undefined) {
    throw new ApprovalError('bad-approver-key', 'signing needs a private JWK (one with d)');
  }
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = privateKey;
  const kid = approverKeyId(publicPart);
  const alg = defaultAlgorithm(privateKey);
  const key = await importJWK({ ...privateKey, alg } as JWK, alg);
  const payload = { ...claims, secureKeys: [...claims.secureKeys].sort() };
  return new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8'))
    .setProtectedHeader({ alg, kid, typ: APPROVAL_TYPE })
    .sign(key);
}

function defaultAlgorithm(jwk: Readonly<Record<string, unknown>>): string {
  if (jwk['kty'] === 'OKP' && jwk['crv'] === 'Ed25519') return 'EdDSA';
  if (jwk['kty'] === 'EC') {
    const alg = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[String(jwk['crv'])];
    if (alg !== undefined) return alg;
  }
  if (jwk['kty'] === 'RSA') return 'PS256';
  throw new ApprovalError(
    'bad-approver-key',
    `approver keys are EC P-256/P-384/P-521, Ed25519 or RSA, not ${String(jwk['kty'])} ${String(jwk['crv'] ?? '')}`.trim(),
  );
}

/** Why a pod's digest is not approved for a SecureKey. */
export type ApprovalRefusalReason =
  | 'no-approval'
  | 'malformed'
  | 'unknown-signer'
  | 'bad-signature'
  | 'other-namespace'
  | 'other-securekey'
  | 'other-digest'
  | 'not-yet-valid'
  | 'expired';

export type ApprovalVerdict =
  | { approved: true; approver: string; expiresAt?: Date }
  | { approved: false; reason: ApprovalRefusalReason; message: string };

/** An approval whose signature was checked: by which approver, with which claims (undefined: bad signature). */
export interface CheckedApproval {
  /** The approver's name, or undefined when no approver of the SecureKey has the signing key. */
  approver: string | undefined;
  claims: ApprovalClaims | undefined;
  /** A malformed payload or refused algorithm. */
  problem?: string;
}

export interface ApprovalContext {
  namespace: string;
  secureKey: string;
  scheme: ApprovalScheme;
  digest: string;
  now: Date;
}

/** Refusals from the least to the most telling, so a pod with several signatures reports its best. */
const RANK: readonly ApprovalRefusalReason[] = [
  'no-approval',
  'malformed',
  'unknown-signer',
  'bad-signature',
  'other-namespace',
  'other-securekey',
  'other-digest',
  'not-yet-valid',
  'expired',
];

/**
 * The verdict for one pod and one SecureKey: approved when any checked approval was signed by one of
 * its approvers and names this namespace, SecureKey, scheme and digest, and `now` is within its time.
 * Of several valid approvals the one that expires last wins. Pure.
 */
export function judgeApprovals(checked: readonly CheckedApproval[], ctx: ApprovalContext): ApprovalVerdict {
  const nowS = Math.floor(ctx.now.getTime() / 1000);
  let best: ApprovalVerdict | undefined;
  let refusal: Extract<ApprovalVerdict, { approved: false }> = {
    approved: false,
    reason: 'no-approval',
    message: `the pod carries no ${APPROVAL_ANNOTATION}`,
  };
  const refuse = (reason: ApprovalRefusalReason, message: string): void => {
    if (RANK.indexOf(reason) >= RANK.indexOf(refusal.reason)) refusal = { approved: false, reason, message };
  };
  for (const c of checked) {
    if (c.problem !== undefined) {
      refuse('malformed', c.problem);
      continue;
    }
    if (c.approver === undefined) {
      refuse(
        'unknown-signer',
        `the approval is signed by a key that is not one of SecureKey ${ctx.secureKey}'s approvers`,
      );
      continue;
    }
    const claims = c.claims;
    if (claims === undefined) {
      refuse('bad-signature', `the approval names approver ${c.approver} but its signature does not verify`);
      continue;
    }
    if (claims.namespace !== ctx.namespace) {
      refuse(
        'other-namespace',
        `approval by ${c.approver} is for namespace ${claims.namespace}, not ${ctx.namespace}`,
      );
    } else if (!claims.secureKeys.includes(ctx.secureKey)) {
      refuse(
        'other-securekey',
        `approval by ${c.approver} is for SecureKey ${claims.secureKeys.join(', ')}, not ${ctx.secureKey}`,
      );
    } else if (claims.scheme !== ctx.scheme || claims.digest !== ctx.digest) {
      refuse(
        'other-digest',
        `approval by ${c.approver} is for ${claims.scheme} digest ${claims.digest.slice(0, 12)}…, but the pod's ${ctx.scheme} digest is ${ctx.digest.slice(0, 12)}…`,
      );
    } else if (claims.iat > nowS + IAT_SKEW_S) {
      refuse('not-yet-valid', `approval by ${c.approver} is issued in the future (${iso(claims.iat)})`);
    } else if (claims.exp !== undefined && claims.exp <= nowS) {
      refuse('expired', `approval by ${c.approver} expired at ${iso(claims.exp)}`);
    } else {
      const verdict: ApprovalVerdict =
        claims.exp === undefined
          ? { approved: true, approver: c.approver }
          : { approved: true, approver: c.approver, expiresAt: new Date(claims.exp * 1000) };
      if (best === undefined || outlasts(verdict, best)) best = verdict;
    }
  }
  return best ?? refusal;
}

function outlasts(a: ApprovalVerdict, b: ApprovalVerdict): boolean {
  if (!a.approved || !b.approved) return false;
  if (b.expiresAt === undefined) return false;
  return a.expiresAt === undefined || a.expiresAt > b.expiresAt;
}

function iso(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

/**
 * Checks every signature of an annotation against a SecureKey's approvers. `verify` is verifySignature
 * or a caching wrapper around it (the operator's ApprovalCache).
 */
export async function checkApprovals(
  annotation: string | undefined,
  approvers: readonly Approver[],
  verify: (approval: ParsedApproval, approver: Approver) => Promise<ApprovalClaims | undefined> = (a, ap) =>
    verifySignature(a, ap.publicKey),
): Promise<CheckedApproval[]> {
  if (annotation === undefined) return [];
  let parsed: ParsedApproval[];
  try {
    parsed = parseApprovals(annotation);
  } catch (err) {
    if (!(err instanceof ApprovalError)) throw err;
    return [{ approver: undefined, claims: undefined, problem: err.message }];
  }
  const byKid = new Map<string, Approver>();
  for (const a of approvers) {
    try {
      byKid.set(approverKeyId(a.publicKey), a);
    } catch {
      // A bad approver key admits nothing; the SecureKey's condition reports it (approverProblems).
    }
  }
  return Promise.all(
    parsed.map(async (p): Promise<CheckedApproval> => {
      const approver = byKid.get(p.kid);
      if (approver === undefined) return { approver: undefined, claims: undefined };
      try {
        return { approver: approver.name, claims: await verify(p, approver) };
      } catch (err) {
        if (!(err instanceof ApprovalError)) throw err;
        return { approver: approver.name, claims: undefined, problem: err.message };
      }
    }),
  );
}

/** Problems with a SecureKey's approver list, one message each (empty when all are usable). */
export function approverProblems(approvers: readonly Approver[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  approvers.forEach((a, i) => {
    try {
      const kid = approverKeyId(a.publicKey);
      const other = seen.get(kid);
      if (other !== undefined) problems.push(`approvers[${i}] (${a.name}) has the same key as ${other}`);
      seen.set(kid, a.name);
    } catch (err) {
      problems.push(`approvers[${i}] (${a.name}): ${(err as Error).message}`);
    }
  });
  return problems;
}
