/**
 * The release `target`: an attestation token, checked as Key Vault / Managed HSM check it, in an order
 * that never lets a caller make the vault fetch from an address no policy names:
 *  1. a compact JWS with an `iss` (else 400 BadParameter);
 *  2. some policy entry is for that issuer (else 403, the evaluator's reason);
 *  3. `{iss}/.well-known/openid-configuration` → `jwks_uri` → the key named by `kid` (`x5c[0]` or
 *     `n`/`e`), RS256 signature, exp/nbf with a small skew (unreachable issuer → 400
 *     `AKV.SKR.1012`, a real message; anything unverifiable → 403 Forbidden);
 *  4. the whole release policy evaluated by the core evaluator (refusal → 403, quoting its reasons,
 *     which name the claim values the token had, e.g. its hostdata).
 * The statuses of steps 3 and 4 are the ones seen from real Key Vault and Managed HSM for policy and authority mismatches
 * (403); the exact messages of the real service are not public, these are ours.
 */
import { evaluatePolicy, sameAuthority } from '../../core/policy/index.ts';
import type { ReleasePolicy } from '../../core/policy/index.ts';
import { TokenError } from '../common/jwt/errors.ts';
import type { IssuerKeys } from '../common/jwt/issuer-keys.ts';
import { decodeJwt } from '../common/jwt/jwt.ts';
import type { DecodedJwt, JsonObject } from '../common/jwt/jwt.ts';
import { verifyDecodedJwt } from '../common/jwt/verify-jwt.ts';
import { badParameter, forbidden } from './errors.ts';

export interface TargetCheckOptions {
  keys: IssuerKeys;
  nowSeconds: number;
  /** Default 60 s. */
  skewSeconds?: number;
}

/** The verified claims of an attestation token that satisfies `policy`. Throws VaultError. */
export async function verifyTarget(
  target: unknown,
  policy: ReleasePolicy,
  o: TargetCheckOptions,
): Promise<JsonObject> {
  if (typeof target !== 'string' || target === '') {
    throw badParameter(
      "The 'target' parameter is required: the attestation token of the environment the key is released to.",
    );
  }
  let jwt: DecodedJwt;
  try {
    jwt = decodeJwt(target);
  } catch (err) {
    throw badParameter(`The target attestation token cannot be parsed: ${(err as Error).message}.`);
  }
  const iss = jwt.payload['iss'];
  if (typeof iss !== 'string' || iss === '')
    throw badParameter('The target attestation token has no iss claim.');
  if (!policy.anyOf.some((e) => sameAuthority(e.authority, iss))) {
    // Before the signature is checked nothing about the policy is disclosed: only the token's own issuer.
    throw forbidden(
      `The target attestation token does not satisfy the key release policy: its issuer ${iss} is not an authority of this key's release policy.`,
    );
  }
  try {
    await verifyDecodedJwt(jwt, iss, o.keys, o.nowSeconds, o.skewSeconds ?? 60);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    if (err.kind === 'discovery-failed') {
      throw badParameter(
        `AKV.SKR.1012: The specified attestation service ${iss} cannot be reached. (${err.message})`,
      );
    }
    throw forbidden(`The target attestation token cannot be verified: ${err.message}.`);
  }
  const decision = evaluatePolicy(policy, jwt.payload);
  if (!decision.allowed) throw refused(decision.reasons);
  return jwt.payload;
}

function refused(reasons: string[]): Error {
  return forbidden(
    `The target attestation token does not satisfy the key release policy: ${reasons.join('; ')}.`,
  );
}
