import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IssuerKeys } from './issuer-keys.ts';
import { decodeJwt, signJwt } from './jwt.ts';
import { verifyDecodedJwt } from './verify-jwt.ts';

const ISSUER = 'https://issuer.example';
const NOW = 1_800_000_000;
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys = new IssuerKeys({
  trusted: [{ issuer: ISSUER, jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] } }],
  discover: false,
});
const claims = { iss: ISSUER, exp: NOW + 60 };

function verify(token: string): Promise<void> {
  return verifyDecodedJwt(decodeJwt(token), ISSUER, keys, NOW, 0);
}

describe('verifyDecodedJwt', () => {
  it('accepts an RS256 token signed by the key its kid names', async () => {
    await expect(verify(signJwt({ kid: 'k1' }, claims, privateKey))).resolves.toBeUndefined();
  });

  it('refuses a crit extension, even b64 (RFC 7797), which jose alone would accept', async () => {
    // With b64 false the signed payload is the middle part's text, not the claims the caller decodes.
    const token = signJwt({ kid: 'k1', b64: false, crit: ['b64'] }, claims, privateKey);
    await expect(verify(token)).rejects.toMatchObject({ kind: 'malformed', message: /crit/ });
  });

  it('names the kind of each refusal', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const [h, p] = signJwt({ kid: 'k1' }, claims, privateKey).split('.');
    await expect(verify(`${h}.${p}.`)).rejects.toMatchObject({ kind: 'unsigned' });
    await expect(verify(signJwt({ kid: 'k1' }, claims, other))).rejects.toMatchObject({
      kind: 'bad-signature',
    });
    await expect(verify(signJwt({ kid: 'k2' }, claims, privateKey))).rejects.toMatchObject({
      kind: 'unknown-key',
    });
    await expect(verify(signJwt({ kid: 'k1', alg: 'PS256' }, claims, privateKey))).rejects.toMatchObject({
      kind: 'unsupported-alg',
    });
    await expect(
      verify(signJwt({ kid: 'k1' }, { ...claims, exp: NOW - 1 }, privateKey)),
    ).rejects.toMatchObject({
      kind: 'expired',
    });
  });
});
