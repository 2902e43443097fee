/**
 * Compact JWS/JWT with RS256 only: everything the simulated services sign (access tokens, release
 * responses) and verify (client assertions, access tokens, attestation tokens) uses it, and nothing
 * else is accepted, so an `alg` confusion cannot slip through.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { TokenError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export interface DecodedJwt {
  header: JsonObject;
  payload: JsonObject;
  /** `base64url(header).base64url(payload)`: the signed bytes. */
  signingInput: string;
  signature: Buffer;
}

const PART = /^[A-Za-z0-9_-]*$/;

function part(text: string, what: string): Buffer {
  if (!PART.test(text) || text.length % 4 === 1) {
    throw new TokenError('malformed', `the token's ${what} is not base64url`);
  }
  return Buffer.from(text, 'base64url');
}

function jsonObject(bytes: Buffer, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TokenError('malformed', `the token's ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenError('malformed', `the token's ${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/** Splits and decodes a compact JWS without verifying it. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.trim().split('.');
  if (parts.length !== 3) {
    throw new TokenError(
      'malformed',
      `a compact JWS has 3 dot-separated parts, this token has ${parts.length}`,
    );
  }
  const [h, p, s] = parts as [string, string, string];
  return {
    header: jsonObject(part(h, 'header'), 'header'),
    payload: jsonObject(part(p, 'payload'), 'payload'),
    signingInput: `${h}.${p}`,
    signature: part(s, 'signature'),
  };
}

/** Signs `payload` as a compact JWS with RS256; the header gets `alg` first, then the given members. */
export function signJwt(header: JsonObject, payload: JsonObject, privateKey: KeyObject): string {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', ...header }), 'utf8').toString('base64url');
  const p = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = crypto.sign('sha256', Buffer.from(`${h}.${p}`, 'ascii'), privateKey);
  return `${h}.${p}.${signature.toString('base64url')}`;
}

/** Refuses anything but a signed RS256 token, before any key is looked up. */
export function checkAlgorithm(jwt: DecodedJwt): void {
  const alg = jwt.header['alg'];
  if (alg === 'none' || jwt.signature.length === 0) {
    throw new TokenError('unsigned', 'the token is not signed (alg "none" or an empty signature)');
  }
  // RFC 7515 §4.1.11: a recipient must reject extensions it does not understand; we understand none.
  if (jwt.header['crit'] !== undefined) {
    throw new TokenError(
      'malformed',
      'the token header has a "crit" member naming extensions this service does not support',
    );
  }
  if (alg !== 'RS256') {
    throw new TokenError(
      'unsupported-alg',
      `the token is signed with ${JSON.stringify(alg)}; only RS256 is accepted`,
    );
  }
}

/** RS256 signature check (RSASSA-PKCS1-v1_5 with SHA-256). */
export function verifySignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'rsa') return false;
  return crypto.verify('sha256', Buffer.from(jwt.signingInput, 'ascii'), publicKey, jwt.signature);
}

/** `exp` (required) and `nbf` (optional) against `now` (unix seconds), allowing `skew` seconds either way. */
export function checkLifetime(payload: JsonObject, now: number, skew: number): void {
  const exp = payload['exp'];
  const nbf = payload['nbf'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new TokenError('missing-exp', 'the token has no numeric exp claim');
  }
  if (now > exp + skew) {
    throw new TokenError('expired', `the token expired at ${isoSeconds(exp)}; it is now ${isoSeconds(now)}`);
  }
  if (typeof nbf === 'number' && now + skew < nbf) {
    throw new TokenError(
      'not-yet-valid',
      `the token is not valid before ${isoSeconds(nbf)}; it is now ${isoSeconds(now)}`,
    );
  }
}

/** The `aud` claim as a list (it may be a string or an array). */
export function audiences(payload: JsonObject): string[] {
  const aud = payload['aud'];
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
