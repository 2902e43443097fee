import { compactVerify, errors } from 'jose';
import type { IssuerKeys } from './issuer-keys.ts';
import { checkLifetime } from './jwt.ts';
import type { DecodedJwt } from './jwt.ts';
import { TokenError } from './errors.ts';

/** The one algorithm the simulated services accept. */
const ALGORITHMS = ['RS256'];

/**
 * Checks a decoded token the way a relying party does once it has decided the issuer is one it deals
 * with: RS256 only, the key named by `kid` from that issuer's keys, the signature (jose), then exp/nbf
 * with `skewSeconds` of tolerance. Audience and subject are the caller's business (their errors differ
 * per service). Throws TokenError.
 */
export async function verifyDecodedJwt(
  jwt: DecodedJwt,
  issuer: string,
  keys: IssuerKeys,
  nowSeconds: number,
  skewSeconds: number,
): Promise<void> {
  checkHeader(jwt);
  try {
    await compactVerify(jwt.token, (header) => keys.keyFor(issuer, header.kid), { algorithms: ALGORITHMS });
  } catch (err) {
    throw tokenError(err, jwt, issuer);
  }
  checkLifetime(jwt.payload, nowSeconds, skewSeconds);
}

/** Refuses anything but a signed RS256 token without extensions, before any key is looked up. */
function checkHeader({ header, token }: DecodedJwt): void {
  const alg = header['alg'];
  if (alg === 'none' || token.endsWith('.')) {
    throw new TokenError('unsigned', 'the token is not signed (alg "none" or an empty signature)');
  }
  // RFC 7515 §4.1.11: a recipient must reject extensions it does not understand. We understand none;
  // jose would honour `b64: false` (RFC 7797): the signed payload would be the middle part's text, not
  // the claims the caller decodes.
  if (header['crit'] !== undefined) {
    throw new TokenError(
      'malformed',
      'the token header has a "crit" member naming extensions this service does not support',
    );
  }
  if (!ALGORITHMS.includes(alg as string)) {
    throw new TokenError(
      'unsupported-alg',
      `the token is signed with ${JSON.stringify(alg)}; only ${ALGORITHMS.join(', ')} is accepted`,
    );
  }
}

function tokenError(err: unknown, jwt: DecodedJwt, issuer: string): TokenError {
  if (err instanceof TokenError) return err;
  const kid = jwt.header['kid'];
  const which = typeof kid === 'string' ? JSON.stringify(kid) : '(no kid)';
  // A TypeError: the key cannot make RS256 signatures (not RSA, or under 2048 bits).
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof TypeError) {
    return new TokenError(
      'bad-signature',
      `the token's signature does not verify with the key ${which} of ${issuer}`,
    );
  }
  return new TokenError('malformed', `the token is not a valid compact JWS: ${(err as Error).message}`, {
    cause: err,
  });
}
