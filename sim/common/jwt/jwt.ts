/**
 * Compact JWS/JWT for the simulated services: RS256 only, for everything they sign (access tokens,
 * attestation tokens, release responses) and verify (client assertions, access tokens, attestation
 * tokens), so an `alg` confusion cannot slip through. Verification is jose's (verify-jwt.ts); signing
 * stays here because jose only signs asynchronously and the simulators' token minting is synchronous.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decodeJwt as decodePayload, decodeProtectedHeader } from 'jose';
import { TokenError } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export interface DecodedJwt {
  /** The compact JWS as received (trimmed). */
  token: string;
  header: JsonObject;
  payload: JsonObject;
}

/** Decodes a compact JWS without verifying it, so the caller can pick the issuer whose keys apply. */
export function decodeJwt(token: string): DecodedJwt {
  const compact = token.trim();
  try {
    return {
      token: compact,
      header: decodeProtectedHeader(compact) as JsonObject,
      payload: decodePayload(compact),
    };
  } catch (err) {
    throw new TokenError('malformed', `the token is not a compact JWS with JSON header and claims`, {
      cause: err,
    });
  }
}

/**
 * Signs `payload` as a compact JWS with RS256; the header gets `alg` first, then the given members.
 * A string payload is signed as it is (MAA signs claims serialised in its own member order).
 */
export function signJwt(header: JsonObject, payload: JsonObject | string, privateKey: KeyObject): string {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', ...header }), 'utf8').toString('base64url');
  const p = Buffer.from(text, 'utf8').toString('base64url');
  const signature = crypto.sign('sha256', Buffer.from(`${h}.${p}`, 'ascii'), privateKey);
  return `${h}.${p}.${signature.toString('base64url')}`;
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
