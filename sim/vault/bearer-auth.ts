/**
 * Bearer-token authentication as Key Vault does it. A request without a token — the SDK's first,
 * bodiless challenge probe — gets 401 with `WWW-Authenticate: Bearer authorization="<authority>/<tenant>",
 * resource="<resource>"` (", " separators and quoted values, which the SDK's parser needs) before
 * anything else is looked at. A token must be an access token of the configured Entra tenant
 * (`iss` = `<authority>/<tenant>/`), signed by one of its published keys, for exactly this resource
 * (`aud`, no trailing slash), and unexpired. Every 401 repeats the challenge, as the service does.
 */
import { trimTrailingSlash } from '../../core/policy/index.ts';
import { TokenError } from '../common/jwt/errors.ts';
import type { IssuerKeys } from '../common/jwt/issuer-keys.ts';
import { audiences, decodeJwt } from '../common/jwt/jwt.ts';
import type { DecodedJwt } from '../common/jwt/jwt.ts';
import { verifyDecodedJwt } from '../common/jwt/verify-jwt.ts';
import type { Principal } from './access.ts';
import { VaultError } from './errors.ts';

export interface BearerAuthOptions {
  tenantId: string;
  /** The Entra authority host, e.g. `https://login.localhost:8443`. */
  authorityHost: string;
  /** `https://vault.localhost`, `https://managedhsm.localhost`, or a cluster's resource. */
  resource: string;
  keys: IssuerKeys;
  nowSeconds: () => number;
  /** Tolerated clock skew; default 300 s. */
  skewSeconds?: number;
}

/** The issuer of the tenant's access tokens (see sim/entra). */
export function accessTokenIssuer(o: Pick<BearerAuthOptions, 'authorityHost' | 'tenantId'>): string {
  return `${trimTrailingSlash(o.authorityHost)}/${o.tenantId}/`;
}

export function challengeHeader(
  o: Pick<BearerAuthOptions, 'authorityHost' | 'tenantId' | 'resource'>,
): string {
  return `Bearer authorization="${trimTrailingSlash(o.authorityHost)}/${o.tenantId}", resource="${o.resource}"`;
}

const unauthorized = (message: string) => new VaultError('Unauthorized', message);

/** The caller of a request, or a 401 VaultError. */
export async function authenticate(
  authorization: string | undefined,
  o: BearerAuthOptions,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (match === null) throw unauthorized('AKV10000: Request is missing a Bearer or PoP token.');
  const encodedHeader = (match[1] as string).split('.')[0] ?? '';
  let jwt: DecodedJwt;
  try {
    jwt = decodeJwt(match[1] as string);
  } catch {
    throw unauthorized('AKV10001: The bearer token is malformed: it is not a JWT.');
  }
  const aud = audiences(jwt.payload);
  if (!aud.includes(o.resource)) {
    throw unauthorized(
      `AKV10022: Invalid audience. Expected ${o.resource}, found: ${aud.join(', ') || '(none)'}.`,
    );
  }
  const expectedIssuer = accessTokenIssuer(o);
  const iss = jwt.payload['iss'];
  if (iss !== expectedIssuer || jwt.payload['tid'] !== o.tenantId) {
    throw unauthorized(`AKV10032: Invalid issuer. Expected one of ${expectedIssuer}, found ${String(iss)}.`);
  }
  try {
    await verifyDecodedJwt(jwt, expectedIssuer, o.keys, o.nowSeconds(), o.skewSeconds ?? 300);
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    switch (err.kind) {
      case 'expired':
        throw unauthorized("[TokenExpired] Error validating token: 'S2S12086'.");
      case 'not-yet-valid':
        throw unauthorized('Token not yet valid');
      case 'unknown-key':
      case 'discovery-failed':
        throw unauthorized(
          `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${encodedHeader}'.`,
        );
      default:
        throw unauthorized(`AKV10013: Token validation failed: ${err.message}.`);
    }
  }
  const oid = jwt.payload['oid'];
  const appid = jwt.payload['appid'];
  if (typeof oid !== 'string' || typeof appid !== 'string') {
    throw unauthorized('AKV10013: Token validation failed: the token names no oid or appid.');
  }
  return { oid, appid, iss: expectedIssuer };
}
