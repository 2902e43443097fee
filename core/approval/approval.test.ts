import { generateKeyPairSync, type KeyPairKeyObjectResult } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  APPROVAL_TYPE,
  ApprovalError,
  approverKeyId,
  approverProblems,
  checkApprovals,
  judgeApprovals,
  NODE_CONTAINERS_SCHEME,
  parseApprovals,
  signApproval,
  type ApprovalClaims,
  type ApprovalContext,
  type Approver,
} from './index.ts';

type Jwk = Record<string, unknown>;
function keyPair(type: 'ec' | 'ed25519' | 'rsa', options: object = {}): { priv: Jwk; pub: Jwk } {
  const generate = generateKeyPairSync as (t: string, o: object) => KeyPairKeyObjectResult;
  const { privateKey, publicKey } = generate(type, { namedCurve: 'P-256', modulusLength: 2048, ...options });
  return {
    priv: privateKey.export({ format: 'jwk' }) as Jwk,
    pub: publicKey.export({ format: 'jwk' }) as Jwk,
  };
}

const ci = keyPair('ec');
const release = keyPair('ed25519');
const stranger = keyPair('ec');
const DIGEST = 'ab'.repeat(32);
const NOW = new Date('2026-12-07T10:00:00Z');
const nowS = NOW.getTime() / 1000;

const approvers: Approver[] = [
  { name: 'ci', publicKey: ci.pub },
  { name: 'release-team', publicKey: release.pub },
];
const claims = (over: Partial<ApprovalClaims> = {}): ApprovalClaims => ({
  namespace: 'shop',
  secureKeys: ['payments'],
  scheme: 'kata-agent-policy',
  digest: DIGEST,
  iat: nowS - 60,
  ...over,
});
const ctx: ApprovalContext = {
  namespace: 'shop',
  secureKey: 'payments',
  scheme: 'kata-agent-policy',
  digest: DIGEST,
  now: NOW,
};

async function verdict(annotation: string | undefined, c: ApprovalContext = ctx, list = approvers) {
  return judgeApprovals(await checkApprovals(annotation, list), c);
}

describe('approval signatures', () => {
  it.each([
    ['EC P-256', ci.priv, 'ci'],
    ['Ed25519', release.priv, 'release-team'],
  ])('admits a %s approval for this namespace, SecureKey and digest', async (_, key, name) => {
    const jws = await signApproval(claims(), key);
    expect(await verdict(jws)).toEqual({ approved: true, approver: name });
  });

  it('admits an RSA (PS256) approval', async () => {
    const rsa = keyPair('rsa');
    const jws = await signApproval(claims(), rsa.priv);
    expect(await verdict(jws, ctx, [{ name: 'rsa', publicKey: rsa.pub }])).toEqual({
      approved: true,
      approver: 'rsa',
    });
  });

  it.each<[string, Partial<ApprovalClaims>, string]>([
    ['another namespace', { namespace: 'attacker' }, 'other-namespace'],
    ['another SecureKey', { secureKeys: ['audit'] }, 'other-securekey'],
    ['another digest', { digest: 'cd'.repeat(32) }, 'other-digest'],
    ['another scheme', { scheme: 'kata-initdata' }, 'other-digest'],
    ['an expired approval', { exp: nowS - 1 }, 'expired'],
    ['an approval issued in the future', { iat: nowS + 3600 }, 'not-yet-valid'],
  ])('refuses %s', async (_, over, reason) => {
    const jws = await signApproval(claims(over), ci.priv);
    expect(await verdict(jws)).toMatchObject({ approved: false, reason });
  });

  it('gives an approval that has not expired its expiry', async () => {
    const jws = await signApproval(claims({ exp: nowS + 3600 }), ci.priv);
    expect(await verdict(jws)).toEqual({
      approved: true,
      approver: 'ci',
      expiresAt: new Date((nowS + 3600) * 1000),
    });
  });

  it('admits a pod asking for several SecureKeys for each of them', async () => {
    const jws = await signApproval(claims({ secureKeys: ['payments', 'audit'] }), ci.priv);
    expect(await verdict(jws, { ...ctx, secureKey: 'audit' })).toMatchObject({ approved: true });
    expect(await verdict(jws, { ...ctx, secureKey: 'other' })).toMatchObject({ reason: 'other-securekey' });
  });

  it('refuses a signature by a key that is not an approver', async () => {
    const jws = await signApproval(claims(), stranger.priv);
    expect(await verdict(jws)).toMatchObject({ approved: false, reason: 'unknown-signer' });
  });

  it('refuses an approval whose payload was changed after signing', async () => {
    const jws = await signApproval(claims({ namespace: 'attacker' }), ci.priv);
    const [h, , s] = jws.split('.');
    const forged = Buffer.from(JSON.stringify(claims())).toString('base64url');
    expect(await verdict(`${h}.${forged}.${s}`)).toMatchObject({ approved: false, reason: 'bad-signature' });
  });

  it('refuses a stranger key that claims an approver kid', async () => {
    const jws = await signApproval(claims(), stranger.priv);
    const [, p, s] = jws.split('.');
    const header = { alg: 'ES256', kid: approverKeyId(ci.pub), typ: APPROVAL_TYPE };
    const relabelled = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${s}`;
    expect(await verdict(relabelled)).toMatchObject({ approved: false, reason: 'bad-signature' });
  });

  it.each([
    ['none', { alg: 'none' }],
    ['HS256', { alg: 'HS256' }],
  ])('refuses alg %s', async (_, over) => {
    const jws = await signApproval(claims(), ci.priv);
    const [h, p, s] = jws.split('.');
    const header = { ...JSON.parse(Buffer.from(h as string, 'base64url').toString()), ...over };
    const changed = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${s}`;
    expect(await verdict(changed)).toMatchObject({ approved: false, reason: 'malformed' });
  });

  it('a valid signature among bad ones admits; the latest expiry wins', async () => {
    const bad = await signApproval(claims(), stranger.priv);
    const short = await signApproval(claims({ exp: nowS + 60 }), ci.priv);
    const long = await signApproval(claims({ exp: nowS + 7200 }), release.priv);
    expect(await verdict([bad, short, long].join(','))).toEqual({
      approved: true,
      approver: 'release-team',
      expiresAt: new Date((nowS + 7200) * 1000),
    });
  });

  it('reads node-containers approvals, which admit only a node-containers digest', async () => {
    const node = await signApproval(claims({ scheme: NODE_CONTAINERS_SCHEME }), ci.priv);
    expect(await verdict(node, { ...ctx, scheme: NODE_CONTAINERS_SCHEME })).toMatchObject({ approved: true });
    // The same 64 hex characters as a pod's policy digest: not the same statement.
    expect(await verdict(node)).toMatchObject({ approved: false, reason: 'other-digest' });
    const pod = await signApproval(claims(), ci.priv);
    expect(await verdict(pod, { ...ctx, scheme: NODE_CONTAINERS_SCHEME })).toMatchObject({
      approved: false,
      reason: 'other-digest',
    });
    const other = await signApproval(
      claims({ scheme: 'node-images' as typeof NODE_CONTAINERS_SCHEME }),
      ci.priv,
    );
    expect(await verdict(other)).toMatchObject({ approved: false, reason: 'malformed' });
  });

  it('reports no approval when the pod carries none', async () => {
    expect(await verdict(undefined)).toMatchObject({ approved: false, reason: 'no-approval' });
  });
});

describe('parseApprovals', () => {
  it.each([
    ['an empty value', ' , '],
    ['something that is not a JWS', 'hello'],
    ['a JWS with another typ', `${b64({ alg: 'ES256', kid: 'x', typ: 'JWT' })}.e30.c2ln`],
    ['a JWS with crit', `${b64({ alg: 'ES256', kid: 'x', typ: APPROVAL_TYPE, crit: ['b64'] })}.e30.c2ln`],
    ['a JWS without kid', `${b64({ alg: 'ES256', typ: APPROVAL_TYPE })}.e30.c2ln`],
    [
      'nine signatures',
      Array(9)
        .fill(`${b64({ alg: 'ES256', kid: 'x', typ: APPROVAL_TYPE })}.e30.c2ln`)
        .join(','),
    ],
    ['a 17 KiB value', 'a'.repeat(17 * 1024)],
  ])('refuses %s as malformed', (_, value) => {
    expect(() => parseApprovals(value)).toThrow(ApprovalError);
    try {
      parseApprovals(value);
    } catch (err) {
      expect(isErrorOf(err, ApprovalError, 'malformed')).toBe(true);
    }
  });
});

describe('approver keys', () => {
  it('refuses a private key as an approver and names the member', () => {
    expect(() => approverKeyId(ci.priv)).toThrow(/must be public; it holds d/);
  });

  it('reports unusable and repeated approvers', () => {
    expect(
      approverProblems([
        { name: 'a', publicKey: ci.pub },
        { name: 'b', publicKey: { kty: 'oct', k: 'AAAA' } },
        { name: 'c', publicKey: ci.pub },
      ]),
    ).toEqual([expect.stringContaining('approvers[1] (b)'), 'approvers[2] (c) has the same key as a']);
  });

  it('signs only with a private key', async () => {
    await expect(signApproval(claims(), ci.pub)).rejects.toThrow(/private JWK/);
  });
});

function b64(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
