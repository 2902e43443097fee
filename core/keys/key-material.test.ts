import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyMaterialError } from './errors.ts';
import type { KeyMaterialErrorKind } from './errors.ts';
import { keyMaterialFromKey, keyMaterialFromPlaintext, vaultPlaintext } from './key-material.ts';
import { formatKeyMaterial } from './output-formats.ts';
import type { KeyFormat } from './output-formats.ts';
import { vaultPublicJwk } from './public-jwk.ts';

function expectKind(fn: () => unknown, kind: KeyMaterialErrorKind): KeyMaterialError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KeyMaterialError);
    expect((err as KeyMaterialError).kind).toBe(kind);
    return err as KeyMaterialError;
  }
  throw new Error(`expected a KeyMaterialError of kind ${kind}`);
}

function expectNoLeak(err: KeyMaterialError, secret: Buffer): void {
  const text = `${err.message} ${err.hint ?? ''} ${String(err.cause ?? '')}`;
  for (const encoding of ['hex', 'base64', 'base64url'] as const) {
    expect(text).not.toContain(secret.toString(encoding).slice(0, 12));
  }
}

const pkcs8 = (key: KeyObject) => key.export({ format: 'der', type: 'pkcs8' });
const ec = (namedCurve: string) => crypto.generateKeyPairSync('ec', { namedCurve }).privateKey;
const rsa = (modulusLength: number) => crypto.generateKeyPairSync('rsa', { modulusLength }).privateKey;

const asymmetric = [
  { name: 'RSA-2048', vaultKeyType: 'RSA-HSM', key: rsa(2048) },
  { name: 'RSA-3072', vaultKeyType: 'RSA', key: rsa(3072) },
  { name: 'EC P-256', vaultKeyType: 'EC-HSM', key: ec('P-256'), crv: 'P-256' },
  { name: 'EC P-384', vaultKeyType: 'EC', key: ec('P-384'), crv: 'P-384' },
  { name: 'EC P-521', vaultKeyType: 'EC-HSM', key: ec('P-521'), crv: 'P-521' },
  { name: 'EC secp256k1', vaultKeyType: 'EC-HSM', key: ec('secp256k1'), crv: 'secp256k1' },
];

describe('oct keys', () => {
  for (const length of [16, 24, 32]) {
    const bytes = crypto.randomBytes(length);

    it(`${length} bytes: raw is the bytes, jwk is {k,key_ops,kty}, pem is refused`, () => {
      const material = keyMaterialFromPlaintext(bytes, 'oct-HSM');
      expect(material.kty).toBe('oct');
      expect(formatKeyMaterial(material, 'raw').equals(bytes)).toBe(true);

      const jwk = formatKeyMaterial(material, 'jwk', { keyOps: ['wrapKey', 'unwrapKey'] }).toString('utf8');
      expect(jwk).toBe(
        `{"k":"${bytes.toString('base64url')}","key_ops":["wrapKey","unwrapKey"],"kty":"oct"}`,
      );
      const reimported = crypto.createSecretKey(Buffer.from(JSON.parse(jwk).k, 'base64url'));
      expect(reimported.equals(crypto.createSecretKey(bytes))).toBe(true);
      expect(formatKeyMaterial(material, 'jwk').toString()).toBe(
        `{"k":"${bytes.toString('base64url')}","kty":"oct"}`,
      );

      expectNoLeak(
        expectKind(() => formatKeyMaterial(material, 'pem'), 'format-unavailable'),
        bytes,
      );
    });
  }

  it('a KeyMaterial prints no key bytes when logged', () => {
    const bytes = crypto.randomBytes(32);
    const material = keyMaterialFromPlaintext(bytes, 'oct');
    expect(JSON.stringify(material)).not.toContain(bytes.toString('base64').slice(0, 12));
    expect(String(material.key)).not.toContain(bytes.toString('hex').slice(0, 12));
  });

  it('sizes outside 16/24/32 → bad-oct-length (64-byte HMAC keys included), without leaking', () => {
    for (const length of [0, 1, 15, 17, 31, 33, 48, 64]) {
      const bytes = crypto.randomBytes(length);
      const err = expectKind(() => keyMaterialFromPlaintext(bytes, 'oct-HSM'), 'bad-oct-length');
      if (length >= 12) expectNoLeak(err, bytes);
      expectKind(() => keyMaterialFromKey(bytes), 'bad-oct-length');
    }
  });
});

describe('RSA and EC keys', () => {
  for (const { name, vaultKeyType, key, crv } of asymmetric) {
    it(`${name}: raw, pem and jwk re-import to the same key`, () => {
      const material = keyMaterialFromPlaintext(pkcs8(key), vaultKeyType);
      expect(material.kty).toBe(crv === undefined ? 'RSA' : 'EC');

      const raw = formatKeyMaterial(material, 'raw');
      expect(crypto.createPrivateKey({ key: raw, format: 'der', type: 'pkcs8' }).equals(key)).toBe(true);

      const pem = formatKeyMaterial(material, 'pem').toString('ascii');
      expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
      expect(pem.trimEnd().endsWith('-----END PRIVATE KEY-----')).toBe(true);
      expect(crypto.createPrivateKey(pem).equals(key)).toBe(true);

      const jwkText = formatKeyMaterial(material, 'jwk', { keyOps: ['sign', 'verify'] }).toString('utf8');
      const jwk = JSON.parse(jwkText);
      expect(crypto.createPrivateKey({ key: jwk, format: 'jwk' }).equals(key)).toBe(true);
      expect(jwk.key_ops).toEqual(['sign', 'verify']);
      expect(jwk.d).toEqual(expect.any(String));
      if (crv !== undefined) expect(jwk.crv).toBe(crv);
      else
        for (const m of ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'])
          expect(jwk[m], m).toEqual(expect.any(String));
      // Deterministic: sorted members, no whitespace, same bytes every time.
      expect(Object.keys(jwk)).toEqual(Object.keys(jwk).sort());
      expect(jwkText).not.toMatch(/\s/);
      expect(formatKeyMaterial(material, 'jwk', { keyOps: ['sign', 'verify'] }).toString()).toBe(jwkText);
    });

    it(`${name}: the simulator's inverse gives the PKCS#8 the vault wraps and a public-only JWK`, () => {
      const material = keyMaterialFromKey(key);
      const plaintext = vaultPlaintext(material);
      expect(keyMaterialFromPlaintext(plaintext, vaultKeyType).key.equals(key)).toBe(true);

      const pub = vaultPublicJwk(material);
      const expected = crypto.createPublicKey(key).export({ format: 'jwk' });
      if (crv === undefined) {
        expect(pub).toEqual({ kty: 'RSA', n: expected.n, e: expected.e });
      } else {
        expect(pub).toEqual({
          kty: 'EC',
          crv: crv === 'secp256k1' ? 'P-256K' : crv,
          x: expected.x,
          y: expected.y,
        });
      }
      expect(vaultPublicJwk(material, { hsm: true }).kty).toBe(`${pub.kty}-HSM`);
      expect(JSON.stringify(pub)).not.toMatch(/"(d|p|q|dp|dq|qi)"/);
    });
  }

  it('oct inverse: bytes and secret KeyObjects, public view without k', () => {
    const bytes = crypto.randomBytes(32);
    expect(vaultPlaintext(keyMaterialFromKey(bytes)).equals(bytes)).toBe(true);
    expect(vaultPlaintext(keyMaterialFromKey(crypto.createSecretKey(bytes))).equals(bytes)).toBe(true);
    expect(vaultPublicJwk(keyMaterialFromKey(bytes), { hsm: true })).toEqual({ kty: 'oct-HSM' });
  });
});

describe('validation', () => {
  const rsaDer = pkcs8(asymmetric[0]!.key);
  const ecDer = pkcs8(asymmetric[2]!.key);

  it('PKCS#8 that does not parse → bad-pkcs8, without leaking', () => {
    const truncated = rsaDer.subarray(0, rsaDer.length - 10);
    expectNoLeak(
      expectKind(() => keyMaterialFromPlaintext(truncated, 'RSA-HSM'), 'bad-pkcs8'),
      rsaDer.subarray(40),
    );
    const trailing = Buffer.concat([ecDer, Buffer.from([0])]);
    expectKind(() => keyMaterialFromPlaintext(trailing, 'EC-HSM'), 'bad-pkcs8');
    expectKind(() => keyMaterialFromPlaintext(crypto.randomBytes(32), 'RSA'), 'bad-pkcs8');
    expectKind(() => keyMaterialFromPlaintext(Buffer.alloc(0), 'EC'), 'bad-pkcs8');
    // A well-formed DER SEQUENCE that is not a PrivateKeyInfo.
    expectKind(() => keyMaterialFromPlaintext(Buffer.from('3003020101', 'hex'), 'RSA'), 'bad-pkcs8');
    // SubjectPublicKeyInfo is not a private key.
    const spki = crypto.createPublicKey(asymmetric[0]!.key).export({ format: 'der', type: 'spki' });
    expectKind(() => keyMaterialFromPlaintext(spki, 'RSA'), 'bad-pkcs8');
  });

  it('PKCS#8 of another algorithm than the vault key type → key-type-mismatch', () => {
    expectKind(() => keyMaterialFromPlaintext(ecDer, 'RSA-HSM'), 'key-type-mismatch');
    expectKind(() => keyMaterialFromPlaintext(rsaDer, 'EC-HSM'), 'key-type-mismatch');
    const ed = pkcs8(crypto.generateKeyPairSync('ed25519').privateKey);
    expectKind(() => keyMaterialFromPlaintext(ed, 'EC'), 'key-type-mismatch');
  });

  it('an EC curve outside P-256/P-384/P-521/secp256k1 → unsupported-curve', () => {
    for (const curve of ['secp224r1', 'brainpoolP256r1']) {
      expectKind(() => keyMaterialFromPlaintext(pkcs8(ec(curve)), 'EC-HSM'), 'unsupported-curve');
      expectKind(() => keyMaterialFromKey(ec(curve)), 'unsupported-curve');
    }
  });

  it('an unknown vault key type → unsupported-key-type', () => {
    for (const kty of ['AES', 'rsa', 'OKP', '']) {
      expectKind(() => keyMaterialFromPlaintext(rsaDer, kty), 'unsupported-key-type');
    }
  });

  it('an unknown format → unsupported-format; bad key_ops → bad-key-ops', () => {
    const material = keyMaterialFromPlaintext(rsaDer, 'RSA');
    expectKind(() => formatKeyMaterial(material, 'der' as KeyFormat), 'unsupported-format');
    expectKind(() => formatKeyMaterial(material, 'jwk', { keyOps: ['sign', ''] }), 'bad-key-ops');
    expectKind(
      () => formatKeyMaterial(material, 'jwk', { keyOps: [7] as unknown as string[] }),
      'bad-key-ops',
    );
  });

  it('keys the vault cannot hold → unsupported-key', () => {
    expectKind(() => keyMaterialFromKey(crypto.createPublicKey(asymmetric[0]!.key)), 'unsupported-key');
    expectKind(() => keyMaterialFromKey(crypto.generateKeyPairSync('ed25519').privateKey), 'unsupported-key');
  });
});
