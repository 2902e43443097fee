import type { IssuerKeys } from './issuer-keys.ts';
import { checkAlgorithm, checkLifetime, verifySignature } from './jwt.ts';
import type { DecodedJwt } from './jwt.ts';
import { TokenError } from './errors.ts';

/**
 * Checks a decoded token the way a relying party does once it has decided the issuer is one it deals
 * with: RS256 only, the key named by `kid` from that issuer's keys, the signature, then exp/nbf with
 * `skewSeconds` of tolerance. Audience and subject are the caller's business (their errors differ per
 * service). Throws TokenError.
 */
export async function verifyDecodedJwt(
  jwt: DecodedJwt,
  issuer: string,
  keys: IssuerKeys,
  nowSeconds: number,
  skewSeconds: number,
): Promise<void> {
  checkAlgorithm(jwt);
  const key = await keys.keyFor(issuer, jwt.header['kid']);
  if (!verifySignature(jwt, key)) {
    throw new TokenError(
      'bad-signature',
      `the token's signature does not verify with the key ${describeKid(jwt)} of ${issuer}`,
    );
  }
  checkLifetime(jwt.payload, nowSeconds, skewSeconds);
}

function describeKid(jwt: DecodedJwt): string {
  const kid = jwt.header['kid'];
  return typeof kid === 'string' ? JSON.stringify(kid) : '(no kid)';
}
