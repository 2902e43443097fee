/**
 * The release answer: `{"value": "<compact JWS>"}`, RS256 over the payload
 * `{"request":{"api-version","enc","kid","nonce"?},"response":{"key":{"attributes","key","release_policy"}}}`
 * with header `{alg, kid, x5c, x5t#S256}` — `x5c` is the vault's signing certificate (SAN = the vault
 * host) then the simulator CA, `kid` and `x5t#S256` its SHA-256 thumbprint — as decoded from a real
 * Managed HSM response (as the SKR sidecar parses it, `pkg/skr`). In the payload the key type loses its `-HSM` suffix and the
 * wrapped key travels as `key_hsm`; members are in alphabetical order, as there.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { signJwt } from '../common/jwt/jwt.ts';

export interface VaultSigner {
  key: KeyObject;
  /** Leaf first, then the CA. */
  chainDer: Buffer[];
}

export interface ReleaseRequestEcho {
  apiVersion: string;
  enc: string;
  kid: string;
  nonce?: string;
}

export interface ReleasedKey {
  attributes: Record<string, unknown>;
  /** Public members (n/e or crv/x/y) of the key. */
  publicMembers: Record<string, unknown>;
  keyHsm: string;
  keyOps: string[];
  /** Family name: RSA, EC or oct. */
  kty: string;
  releasePolicy: { contentType: string; data: string; immutable: boolean };
}

function sorted(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function releaseJws(signer: VaultSigner, request: ReleaseRequestEcho, key: ReleasedKey): string {
  const leaf = signer.chainDer[0];
  if (leaf === undefined) throw new Error('the vault signer has no certificate');
  const thumbprint = crypto.createHash('sha256').update(leaf).digest('base64url');
  const policy: Record<string, unknown> = {
    contentType: key.releasePolicy.contentType,
    data: key.releasePolicy.data,
  };
  if (key.releasePolicy.immutable) policy['immutable'] = true;
  const payload = {
    request: sorted({
      'api-version': request.apiVersion,
      enc: request.enc,
      kid: request.kid,
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    }),
    response: {
      key: {
        attributes: sorted(key.attributes),
        key: sorted({
          ...key.publicMembers,
          key_hsm: key.keyHsm,
          key_ops: key.keyOps,
          kid: request.kid,
          kty: key.kty,
        }),
        release_policy: policy,
      },
    },
  };
  return signJwt(
    { kid: thumbprint, x5c: signer.chainDer.map((c) => c.toString('base64')), 'x5t#S256': thumbprint },
    payload,
    signer.key,
  );
}
