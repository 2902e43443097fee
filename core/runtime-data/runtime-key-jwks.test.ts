import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../keys/jwk-thumbprint.ts';
import { RuntimeDataError } from './errors.ts';
import { ACI_RUNTIME_DATA_B64, ACI_RUNTIME_KID } from '../../test/support/microsoft-vectors.ts';
import { runtimeKeyJwks } from './runtime-key-jwks.ts';

describe('runtimeKeyJwks', () => {
  it('re-creates the SKR sidecar’s runtime data from the ACI example byte for byte', () => {
    const published = Buffer.from(ACI_RUNTIME_DATA_B64, 'base64');
    const { n, e } = JSON.parse(published.toString('utf8')).keys[0];
    const publicKey = crypto.createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });

    const { bytes, kid } = runtimeKeyJwks(publicKey);
    expect(kid).toBe(ACI_RUNTIME_KID);
    expect(jwkThumbprint({ kty: 'RSA', n, e })).toBe(ACI_RUNTIME_KID);
    expect(bytes.toString('utf8')).toBe(published.toString('utf8'));
    expect(bytes.equals(published)).toBe(true);
  });

  it('a fresh key: exact layout, thumbprint kid, same bytes from the private or public half', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { n, e } = publicKey.export({ format: 'jwk' });
    const { bytes, kid } = runtimeKeyJwks(publicKey);
    expect(kid).toBe(jwkThumbprint({ kty: 'RSA', n, e }));
    expect(bytes.toString()).toBe(
      `{"keys":[{"e":"${e}","key_ops":["encrypt"],"kid":"${kid}","kty":"RSA","n":"${n}"}]}`,
    );
    expect(runtimeKeyJwks(privateKey).bytes.equals(bytes)).toBe(true);
  });

  it('refuses non-RSA and sub-2048-bit keys', () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    for (const key of [ec, small, crypto.createSecretKey(Buffer.alloc(32))]) {
      expect(() => runtimeKeyJwks(key)).toThrow(expect.objectContaining({ kind: 'bad-runtime-key' }));
      expect(() => runtimeKeyJwks(key)).toThrow(RuntimeDataError);
    }
  });
});
