import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSimulatorCa } from '../tls.ts';
import { IssuerKeys, publicKeyOfAttestationJwk } from './issuer-keys.ts';

const ISSUER = 'https://attest.example';
const ca = createSimulatorCa('issuer keys test CA');
const signing = ca.issue({ commonName: 'attest signer', usage: 'signing', keyType: 'rsa' });
const x5c = [Buffer.from(signing.certDer).toString('base64')];
const members = (key: crypto.KeyObject) => {
  const { n, e } = crypto.createPublicKey(key).export({ format: 'jwk' }) as { n: string; e: string };
  return { n, e };
};

function keys(jwk: Record<string, unknown>, strict: boolean): IssuerKeys {
  return new IssuerKeys({
    trusted: [{ issuer: ISSUER, jwks: { keys: [jwk as never] } }],
    discover: false,
    requireKid: strict,
    requireX5c: strict,
  });
}

describe('attestation issuer keys, read as Key Vault reads them', () => {
  it('takes the key from x5c[0]', async () => {
    const key = await keys({ kid: 'k1', kty: 'RSA', x5c }, true).keyFor(ISSUER, 'k1');
    expect(key.equals(crypto.createPublicKey(signing.key))).toBe(true);
  });

  it('skips a key published without x5c (n/e only), which Entra-style issuers may do', async () => {
    const bare = { kid: 'k1', kty: 'RSA', ...members(signing.key) };
    await expect(keys(bare, true).keyFor(ISSUER, 'k1')).rejects.toThrow(/no key with kid "k1"/);
    // Not strict (Entra client assertions): the bare key is fine.
    expect((await keys(bare, false).keyFor(ISSUER, 'k1')).equals(crypto.createPublicKey(signing.key))).toBe(
      true,
    );
  });

  it('skips a key whose n/e describe another key than its certificate', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const lying = { kid: 'k1', kty: 'RSA', x5c, ...members(other) };
    expect(() => publicKeyOfAttestationJwk(lying)).toThrow(/do not match its x5c certificate/);
    await expect(keys(lying, true).keyFor(ISSUER, 'k1')).rejects.toThrow(/no key with kid/);
    const honest = { kid: 'k1', kty: 'RSA', x5c, ...members(signing.key) };
    expect(publicKeyOfAttestationJwk(honest).equals(crypto.createPublicKey(signing.key))).toBe(true);
  });
});
