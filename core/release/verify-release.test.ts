import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateAuthority,
  createCertificateAuthority,
  generateKey,
  issueIntermediate,
  issueLeaf,
  type CertificateAuthority,
  type LeafOptions,
  buildCertificate,
} from '../x509/index.ts';
import {
  ReleaseVerifyError,
  verifyRelease,
  type ReleaseVerifyErrorKind,
  type VerifyReleaseOptions,
} from './verify-release.ts';
import { vaultRootCertificates } from './vault-roots.ts';

const HOST = 'hsm1.managedhsm.localhost';
const KID = `https://${HOST}:8443/keys/db-key/0123abcd`;
const DAY = 86_400_000;
const validity = { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 825 * DAY) };

interface Issued {
  key: KeyObject;
  certDer: Buffer;
  /** Leaf then CA, as a vault's `x5c`. */
  chainDer: Buffer[];
}

/** A vault's signing certificate, as Azure's: a TLS server certificate whose SAN names `HOST`. */
function vaultLeaf(issuer: CertificateAuthority, keyType: 'rsa' | 'ec', over: Partial<LeafOptions> = {}) {
  return issueLeaf(issuer, {
    subject: [{ type: 'CN', value: HOST }],
    ...validity,
    key: generateKey(keyType),
    extKeyUsage: ['serverAuth'],
    subjectAltNames: { dns: [HOST] },
    ...over,
  });
}

/** A CA that issues signing certificates naming `HOST`, as the vault's (RSA unless asked for EC). */
function testCa(name: string) {
  const authority = createCertificateAuthority({
    subject: [{ type: 'CN', value: name }],
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
  });
  const issue = (keyType: 'rsa' | 'ec' = 'rsa', over: Partial<LeafOptions> = {}): Issued => {
    const leaf = vaultLeaf(authority, keyType, over);
    return { key: leaf.key, certDer: leaf.certDer, chainDer: [leaf.certDer, authority.certDer] };
  };
  return { authority, certDer: authority.certDer, issue };
}

const ca = testCa('release test CA');
const root = new X509Certificate(ca.certDer);
const signing = ca.issue();

const keyHsm = 'eyJjaXBoZXJ0ZXh0IjoiIn0';

/** The vault's release JWS (sim/vault/release-response.ts has the shape, from a real Managed HSM). */
function genuine(over: { kid?: string; nonce?: string } = {}, signer: Issued = signing): string {
  const thumbprint = crypto.createHash('sha256').update(signer.certDer).digest('base64url');
  const kid = over.kid ?? KID;
  const header = {
    alg: 'RS256',
    kid: thumbprint,
    x5c: signer.chainDer.map((c) => c.toString('base64')),
    'x5t#S256': thumbprint,
  };
  const payload = {
    request: { 'api-version': '7.6', enc: 'RSA_AES_KEY_WRAP_256', kid, nonce: over.nonce ?? 'n-1' },
    response: {
      key: {
        attributes: { created: 1_764_000_000, enabled: true, exportable: true },
        key: { key_hsm: keyHsm, key_ops: ['encrypt', 'decrypt'], kid, kty: 'oct' },
        release_policy: { contentType: 'application/json; charset=utf-8', data: 'e30' },
      },
    },
  };
  return sign(header, payload, signer.key, signer.key.asymmetricKeyType === 'ec' ? 'ec' : 'rsa');
}

const options = (o: Partial<VerifyReleaseOptions> = {}): VerifyReleaseOptions => ({
  trustRoots: [root],
  vaultHost: HOST,
  keyName: 'db-key',
  nonce: 'n-1',
  now: new Date(),
  ...o,
});

async function refused(
  jws: string,
  o: Partial<VerifyReleaseOptions>,
  kind: ReleaseVerifyErrorKind,
): Promise<ReleaseVerifyError> {
  try {
    await verifyRelease(jws, options(o));
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
  it('accepts the vault’s response and returns what to unwrap', async () => {
    expect(await verifyRelease(genuine(), options())).toEqual({
      keyHsm,
      kty: 'oct',
      keyOps: ['encrypt', 'decrypt'],
      kid: KID,
      enc: 'RSA_AES_KEY_WRAP_256',
      createdAt: 1_764_000_000_000,
    });
    // The root need not be in x5c; the requested version may be pinned.
    const { header, payload } = parts(genuine());
    const leafOnly = sign({ ...header, x5c: [(header['x5c'] as string[])[0]] }, payload, signing.key, 'rsa');
    expect((await verifyRelease(leafOnly, options({ keyVersion: '0123abcd' }))).kid).toBe(KID);
  });

  it('accepts PS256 and ES256 signatures too', async () => {
    const { header, payload } = parts(genuine());
    expect(
      (await verifyRelease(sign({ ...header, alg: 'PS256' }, payload, signing.key, 'pss'), options())).kty,
    ).toBe('oct');
    const ec = ca.issue('ec');
    const ecHeader = {
      alg: 'ES256',
      x5c: ec.chainDer.map((d) => d.toString('base64')),
      'x5t#S256': crypto.createHash('sha256').update(ec.certDer).digest('base64url'),
    };
    expect((await verifyRelease(sign(ecHeader, payload, ec.key, 'ec'), options())).kty).toBe('oct');
  });

  it('a chain to another root → untrusted-chain', async () => {
    await refused(
      genuine(),
      { trustRoots: [new X509Certificate(testCa('other').certDer)] },
      'untrusted-chain',
    );
    // A self-made chain naming the vault host, signed by its own CA, in x5c.
    const rogue = testCa('rogue').issue();
    const { payload } = parts(genuine());
    const header = { alg: 'RS256', x5c: rogue.chainDer.map((d) => d.toString('base64')) };
    const err = await refused(sign(header, payload, rogue.key, 'rsa'), {}, 'untrusted-chain');
    expect(err.message).toContain(`CN=${HOST}`);
  });

  it('x5c that is missing, empty or not DER → untrusted-chain', async () => {
    const { header, payload } = parts(genuine());
    for (const x5c of [undefined, [], ['bm90IGEgY2VydA=='], [42]]) {
      await refused(sign({ ...header, x5c }, payload, signing.key, 'rsa'), {}, 'untrusted-chain');
    }
  });

  it('a certificate for another host of the same root → host-mismatch', async () => {
    await refused(genuine(), { vaultHost: 'hsm2.managedhsm.localhost' }, 'host-mismatch');
  });

  it('the JWS signature must verify with x5c[0]', async () => {
    const { h, p, s, payload } = parts(genuine());
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 1;
    await refused(`${h}.${p}.${sig.toString('base64url')}`, {}, 'signature-invalid');
    const altered = b64({
      ...payload,
      request: { ...(payload['request'] as object), enc: 'CKM_RSA_AES_KEY_WRAP' },
    });
    await refused(`${h}.${altered}.${s}`, {}, 'signature-invalid');
    // Signed by some other key while x5c names the vault's certificate.
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await refused(sign(parts(genuine()).header, payload, other, 'rsa'), {}, 'signature-invalid');
  });

  it('x5t#S256 of another certificate → thumbprint-mismatch', async () => {
    const { header, payload } = parts(genuine());
    await refused(
      sign({ ...header, 'x5t#S256': 'AAAA' }, payload, signing.key, 'rsa'),
      {},
      'thumbprint-mismatch',
    );
  });

  it('refuses alg none, HMAC and unknown algorithms', async () => {
    const { header, p } = parts(genuine());
    for (const alg of ['none', 'HS256', 'RS1']) {
      await refused(`${b64({ ...header, alg })}.${p}.`, {}, 'unsupported-alg');
    }
  });

  it('an expired signing certificate → certificate-expired', async () => {
    await refused(genuine(), { now: new Date(Date.now() + 3000 * 86_400_000) }, 'certificate-expired');
  });

  it('a response to another request → nonce-mismatch; for another key → key-mismatch', async () => {
    await refused(genuine({ nonce: 'n-0' }), {}, 'nonce-mismatch');
    await refused(genuine(), { keyName: 'other-key' }, 'key-mismatch');
    await refused(genuine(), { keyVersion: 'ffff' }, 'key-mismatch');
    await refused(
      genuine({ kid: `https://hsm2.managedhsm.localhost/keys/db-key/0123abcd` }),
      {},
      'key-mismatch',
    );
  });

  it('malformed responses → malformed', async () => {
    await refused('a.b', {}, 'malformed');
    await refused('a.b.c.d', {}, 'malformed');
    await refused(`${b64('x')}.e30.`, {}, 'malformed');
    const { header, payload } = parts(genuine());
    const noKeyHsm = structuredClone(payload) as { response: { key: { key: Record<string, unknown> } } };
    delete noKeyHsm.response.key.key['key_hsm'];
    await refused(sign(header, noKeyHsm, signing.key, 'rsa'), {}, 'malformed');
    // A crit extension, even one jose understands (b64, RFC 7797), signed by the vault's key.
    const crit = await refused(
      sign({ ...header, b64: false, crit: ['b64'] }, payload, signing.key, 'rsa'),
      {},
      'malformed',
    );
    expect(crit.message).toMatch(/crit/);
  });

  it('a leaf that is not a TLS server certificate → wrong-purpose', async () => {
    for (const extKeyUsage of [['clientAuth'], ['codeSigning'], undefined] as const) {
      const leaf = ca.issue('rsa', { extKeyUsage });
      await refused(genuine({}, leaf), {}, 'wrong-purpose');
    }
    // An issuing CA restricted to client authentication cannot vouch for a server.
    const clientsOnly = issueIntermediate(ca.authority, {
      subject: [{ type: 'CN', value: 'clients' }],
      ...validity,
    });
    const restricted = certificateAuthority(
      buildCertificate({
        serial: 7,
        subject: [{ type: 'CN', value: 'clients CA' }],
        issuer: ca.authority.subject,
        ...validity,
        publicKey: clientsOnly.key,
        signingKey: ca.authority.key,
        signatureAlgorithm: 'ecdsa-sha256',
        basicConstraints: { ca: true },
        keyUsage: ['keyCertSign'],
        extKeyUsage: ['clientAuth'],
      }),
      clientsOnly.key,
    );
    const leaf = vaultLeaf(restricted, 'rsa');
    await refused(
      genuine({}, { ...leaf, chainDer: [leaf.certDer, restricted.certDer] }),
      {},
      'wrong-purpose',
    );
  });

  it('names the host by dNSName SAN only, never by subject CN → host-mismatch', async () => {
    // CN is the vault host, SAN another name or none at all.
    await refused(
      genuine({}, ca.issue('rsa', { subjectAltNames: { dns: ['other.localhost'] } })),
      {},
      'host-mismatch',
    );
    await refused(
      genuine({}, ca.issue('rsa', { subjectAltNames: { ip: ['127.0.0.1'] } })),
      {},
      'host-mismatch',
    );
    const noSan = issueLeaf(ca.authority, {
      subject: [{ type: 'CN', value: HOST }],
      ...validity,
      key: generateKey('rsa'),
      extKeyUsage: ['serverAuth'],
    });
    await refused(genuine({}, { ...noSan, chainDer: [noSan.certDer, ca.certDer] }), {}, 'host-mismatch');
  });

  it('matches a wildcard SAN to one left-most label (RFC 6125), as Managed HSM certificates use', async () => {
    const wildcard = ca.issue('rsa', {
      subject: [{ type: 'CN', value: 'not the host' }],
      subjectAltNames: { dns: ['*.managedhsm.localhost'] },
    });
    expect((await verifyRelease(genuine({}, wildcard), options())).kid).toBe(KID);
    const sub = `a.${HOST}`;
    await refused(
      genuine({ kid: `https://${sub}/keys/db-key/1` }, wildcard),
      { vaultHost: sub },
      'host-mismatch',
    );
    const tooWide = ca.issue('rsa', { subjectAltNames: { dns: ['*.localhost', 'hsm1.*.localhost'] } });
    await refused(
      genuine({ kid: 'https://x.localhost/keys/db-key/1' }, tooWide),
      { vaultHost: 'x.localhost' },
      'host-mismatch',
    );
    await refused(genuine({}, tooWide), {}, 'host-mismatch');
  });

  it('an issuer that is not a CA → not-a-ca; more intermediates than pathLenConstraint → path-too-long', async () => {
    const subject = (cn: string) => [{ type: 'CN', value: cn }] as const;
    // An end entity (cA false) that signs certificates: node:crypto's issuer check looks at
    // keyUsage keyCertSign only, so basicConstraints is what refuses it.
    const endEntity = issueLeaf(ca.authority, {
      subject: subject('end entity'),
      ...validity,
      keyUsage: ['digitalSignature', 'keyCertSign'],
    });
    const notCa = certificateAuthority(endEntity.certDer, endEntity.key);
    const underNotCa = vaultLeaf(notCa, 'rsa');
    const chain1 = { ...underNotCa, chainDer: [underNotCa.certDer, notCa.certDer, ca.certDer] };
    await refused(genuine({}, chain1), {}, 'not-a-ca');

    // root → issuing (pathLen 0) → leaf is fine; root → issuing (pathLen 0) → sub-CA → leaf is not.
    const issuing = issueIntermediate(ca.authority, {
      subject: subject('issuing'),
      ...validity,
      pathLength: 0,
    });
    const direct = vaultLeaf(issuing, 'rsa');
    const ok = { ...direct, chainDer: [direct.certDer, issuing.certDer] };
    expect((await verifyRelease(genuine({}, ok), options())).kid).toBe(KID);
    const sub = issueIntermediate(issuing, { subject: subject('sub'), ...validity });
    const deep = vaultLeaf(sub, 'rsa');
    const tooLong = { ...deep, chainDer: [deep.certDer, sub.certDer, issuing.certDer, ca.certDer] };
    const err = await refused(genuine({}, tooLong), {}, 'path-too-long');
    expect(err.message).toContain('x5c[2]');
  });

  it('a chain to a root that is not pinned, with the default roots → untrusted-chain', async () => {
    await refused(genuine(), { trustRoots: vaultRootCertificates() }, 'untrusted-chain');
  });
});
