import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSimulatorCa } from '../../sim/common/tls.ts';
import { releaseJws, type ReleasedKey } from '../../sim/vault/release-response.ts';
import {
  ReleaseVerifyError,
  verifyRelease,
  type ReleaseVerifyErrorKind,
  type VerifyReleaseOptions,
} from './verify-release.ts';

const HOST = 'hsm1.managedhsm.localhost';
const KID = `https://${HOST}:8443/keys/db-key/0123abcd`;
const ca = createSimulatorCa('release test CA');
const root = new X509Certificate(ca.certDer);
const signing = ca.issue({ commonName: HOST, dns: [HOST], usage: 'signing', keyType: 'rsa' });

const released: ReleasedKey = {
  attributes: { enabled: true, exportable: true },
  publicMembers: {},
  keyHsm: 'eyJjaXBoZXJ0ZXh0IjoiIn0',
  keyOps: ['encrypt', 'decrypt'],
  kty: 'oct',
  releasePolicy: { contentType: 'application/json; charset=utf-8', data: 'e30', immutable: false },
};

function genuine(over: { kid?: string; nonce?: string } = {}): string {
  return releaseJws(
    { key: signing.key, chainDer: signing.chainDer },
    { apiVersion: '7.6', enc: 'RSA_AES_KEY_WRAP_256', kid: over.kid ?? KID, nonce: over.nonce ?? 'n-1' },
    released,
  );
}

const options = (o: Partial<VerifyReleaseOptions> = {}): VerifyReleaseOptions => ({
  trustRoots: [root],
  vaultHost: HOST,
  keyName: 'db-key',
  nonce: 'n-1',
  now: new Date(),
  ...o,
});

function refused(
  jws: string,
  o: Partial<VerifyReleaseOptions>,
  kind: ReleaseVerifyErrorKind,
): ReleaseVerifyError {
  try {
    verifyRelease(jws, options(o));
  } catch (err) {
    expect(err).toBeInstanceOf(ReleaseVerifyError);
    expect((err as ReleaseVerifyError).kind).toBe(kind);
    return err as ReleaseVerifyError;
  }
  throw new Error(`expected ${kind}`);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const parts = (jws: string) => {
  const [h, p, s] = jws.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
    h,
    p,
    s,
  };
};

/** Signs header and payload as given (any alg the test names). */
function sign(
  header: Record<string, unknown>,
  payload: unknown,
  key: KeyObject,
  how: 'rsa' | 'pss' | 'ec',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = String(header['alg']);
  const hash = `sha${alg.slice(2)}`;
  const signature =
    how === 'pss'
      ? crypto.sign(hash, Buffer.from(input), {
          key,
          padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
          saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
        })
      : how === 'ec'
        ? crypto.sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : crypto.sign(hash, Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

describe('verifyRelease', () => {
  it('accepts the vault’s response and returns what to unwrap', () => {
    expect(verifyRelease(genuine(), options())).toEqual({
      keyHsm: released.keyHsm,
      kty: 'oct',
      keyOps: ['encrypt', 'decrypt'],
      kid: KID,
      enc: 'RSA_AES_KEY_WRAP_256',
    });
    // The root need not be in x5c; the requested version may be pinned.
    const { header, payload } = parts(genuine());
    const leafOnly = sign({ ...header, x5c: [(header['x5c'] as string[])[0]] }, payload, signing.key, 'rsa');
    expect(verifyRelease(leafOnly, options({ keyVersion: '0123abcd' })).kid).toBe(KID);
  });

  it('accepts PS256 and ES256 signatures too', () => {
    const { header, payload } = parts(genuine());
    expect(verifyRelease(sign({ ...header, alg: 'PS256' }, payload, signing.key, 'pss'), options()).kty).toBe(
      'oct',
    );
    const ec = ca.issue({ commonName: HOST, dns: [HOST], usage: 'signing', keyType: 'ec' });
    const ecHeader = {
      alg: 'ES256',
      x5c: ec.chainDer.map((d) => d.toString('base64')),
      'x5t#S256': crypto.createHash('sha256').update(ec.certDer).digest('base64url'),
    };
    expect(verifyRelease(sign(ecHeader, payload, ec.key, 'ec'), options()).kty).toBe('oct');
  });

  it('a chain to another root → untrusted-chain', () => {
    refused(
      genuine(),
      { trustRoots: [new X509Certificate(createSimulatorCa('other').certDer)] },
      'untrusted-chain',
    );
    // A self-made chain naming the vault host, signed by its own CA, in x5c.
    const rogueCa = createSimulatorCa('rogue');
    const rogue = rogueCa.issue({ commonName: HOST, dns: [HOST], usage: 'signing', keyType: 'rsa' });
    const { payload } = parts(genuine());
    const header = { alg: 'RS256', x5c: rogue.chainDer.map((d) => d.toString('base64')) };
    const err = refused(sign(header, payload, rogue.key, 'rsa'), {}, 'untrusted-chain');
    expect(err.message).toContain(`CN=${HOST}`);
  });

  it('x5c that is missing, empty or not DER → untrusted-chain', () => {
    const { header, payload } = parts(genuine());
    for (const x5c of [undefined, [], ['bm90IGEgY2VydA=='], [42]]) {
      refused(sign({ ...header, x5c }, payload, signing.key, 'rsa'), {}, 'untrusted-chain');
    }
  });

  it('a certificate for another host of the same root → host-mismatch', () => {
    refused(genuine(), { vaultHost: 'hsm2.managedhsm.localhost' }, 'host-mismatch');
  });

  it('the JWS signature must verify with x5c[0]', () => {
    const { h, p, s, payload } = parts(genuine());
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 1;
    refused(`${h}.${p}.${sig.toString('base64url')}`, {}, 'signature-invalid');
    const altered = b64({
      ...payload,
      request: { ...(payload['request'] as object), enc: 'CKM_RSA_AES_KEY_WRAP' },
    });
    refused(`${h}.${altered}.${s}`, {}, 'signature-invalid');
    // Signed by some other key while x5c names the vault's certificate.
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    refused(sign(parts(genuine()).header, payload, other, 'rsa'), {}, 'signature-invalid');
  });

  it('x5t#S256 of another certificate → thumbprint-mismatch', () => {
    const { header, payload } = parts(genuine());
    refused(sign({ ...header, 'x5t#S256': 'AAAA' }, payload, signing.key, 'rsa'), {}, 'thumbprint-mismatch');
  });

  it('refuses alg none, HMAC and unknown algorithms', () => {
    const { header, p } = parts(genuine());
    for (const alg of ['none', 'HS256', 'RS1']) {
      refused(`${b64({ ...header, alg })}.${p}.`, {}, 'unsupported-alg');
    }
  });

  it('an expired signing certificate → certificate-expired', () => {
    refused(genuine(), { now: new Date(Date.now() + 3000 * 86_400_000) }, 'certificate-expired');
  });

  it('a response to another request → nonce-mismatch; for another key → key-mismatch', () => {
    refused(genuine({ nonce: 'n-0' }), {}, 'nonce-mismatch');
    refused(genuine(), { keyName: 'other-key' }, 'key-mismatch');
    refused(genuine(), { keyVersion: 'ffff' }, 'key-mismatch');
    refused(genuine({ kid: `https://hsm2.managedhsm.localhost/keys/db-key/0123abcd` }), {}, 'key-mismatch');
  });

  it('malformed responses → malformed', () => {
    refused('a.b', {}, 'malformed');
    refused('a.b.c.d', {}, 'malformed');
    refused(`${b64('x')}.e30.`, {}, 'malformed');
    const { header, payload } = parts(genuine());
    const noKeyHsm = structuredClone(payload) as { response: { key: { key: Record<string, unknown> } } };
    delete noKeyHsm.response.key.key['key_hsm'];
    refused(sign(header, noKeyHsm, signing.key, 'rsa'), {}, 'malformed');
  });
});
