import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyMaterialError } from './errors.ts';
import { jwkThumbprint } from './jwk-thumbprint.ts';
import { sortedJson } from './sorted-json.ts';

/** RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint. */
const RFC7638_JWK = {
  kty: 'RSA',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6' +
    '4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91' +
    'CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};

describe('jwkThumbprint (RFC 7638)', () => {
  it('reproduces the RFC 7638 §3.1 example, ignoring non-required members', () => {
    expect(jwkThumbprint(RFC7638_JWK)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('depends on n and e', () => {
    const n = Buffer.from(RFC7638_JWK.n, 'base64url');
    n[10] = (n[10] ?? 0) ^ 1;
    expect(jwkThumbprint({ ...RFC7638_JWK, n: n.toString('base64url') })).not.toBe(
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });

  it('hashes exactly the sorted required members for EC and oct keys', () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const input = `{"crv":"${ec.crv}","kty":"EC","x":"${ec.x}","y":"${ec.y}"}`;
    expect(jwkThumbprint({ ...ec })).toBe(crypto.createHash('sha256').update(input).digest('base64url'));
    expect(jwkThumbprint({ kty: 'oct', k: 'AAEC' })).toBe(
      crypto.createHash('sha256').update('{"k":"AAEC","kty":"oct"}').digest('base64url'),
    );
  });

  it('refuses unknown kty and missing members', () => {
    expect(() => jwkThumbprint({ kty: 'OKP', x: 'AA' })).toThrow(KeyMaterialError);
    expect(() => jwkThumbprint({ kty: 'RSA', n: 'AA' })).toThrow(/member e/);
  });
});

describe('sortedJson', () => {
  it('sorts members at every depth, keeps array order, adds no whitespace', () => {
    expect(
      sortedJson({
        n: 'x',
        e: 'y',
        key_ops: ['encrypt', 'decrypt'],
        kid: 'k',
        kty: 'RSA',
        nested: { b: 1, a: [{ d: 1, c: 2 }] },
      }),
    ).toBe(
      '{"e":"y","key_ops":["encrypt","decrypt"],"kid":"k","kty":"RSA","n":"x","nested":{"a":[{"c":2,"d":1}],"b":1}}',
    );
  });
});
