/**
 * The instance's token signing keys: RSA keys with certificates from the simulator CA (MAA's are
 * self-signed with `CN=https://<instance>`; ours chain to the CA so clients could also check them).
 * `/certs` publishes each as `{alg, kid, kty, use, x5c}` — no `n`/`e`, as MAA — where `kid` is the
 * standard base64 of the certificate's SHA-256 (32 bytes, like MAA's kids). Tokens are signed by the
 * newest key; rotation keeps older keys listed until retired, so cached JWKS and old tokens keep
 * working while the relying party catches up.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { signJwt } from '../common/jwt/jwt.ts';
import type { SimulatorCa } from '../common/tls.ts';

export interface SigningKey {
  readonly kid: string;
  readonly certDer: Buffer;
  readonly key: KeyObject;
}

export interface Jwk {
  alg: 'RS256';
  kid: string;
  kty: 'RSA';
  use: 'sig';
  x5c: string[];
}

export class SigningKeys {
  readonly #ca: SimulatorCa;
  readonly #commonName: string;
  #keys: SigningKey[] = [];

  constructor(ca: SimulatorCa, commonName: string) {
    this.#ca = ca;
    this.#commonName = commonName;
    this.rotate();
  }

  /** The key new tokens are signed with. */
  get current(): SigningKey {
    return this.#keys[this.#keys.length - 1]!;
  }

  /** Kids of the published keys, oldest first. */
  kids(): string[] {
    return this.#keys.map((k) => k.kid);
  }

  /** Makes a new key current; the others stay published. Returns the new kid. */
  rotate(): string {
    const issued = this.#ca.issue({ commonName: this.#commonName, usage: 'signing', keyType: 'rsa' });
    const kid = crypto.createHash('sha256').update(issued.certDer).digest('base64');
    this.#keys.push({ kid, certDer: issued.certDer, key: issued.key });
    return kid;
  }

  /** Stops publishing a key that is no longer current. Returns whether it was published. */
  retire(kid: string): boolean {
    if (kid === this.current.kid) throw new Error('the current signing key cannot be retired; rotate first');
    const before = this.#keys.length;
    this.#keys = this.#keys.filter((k) => k.kid !== kid);
    return this.#keys.length !== before;
  }

  jwks(): { keys: Jwk[] } {
    return {
      keys: this.#keys.map((k) => ({
        alg: 'RS256',
        kid: k.kid,
        kty: 'RSA',
        use: 'sig',
        x5c: [k.certDer.toString('base64')],
      })),
    };
  }
}

/** `{"alg":"RS256","jku":…,"kid":…,"typ":"JWT"}.payload.signature`, the claims signed as serialised. */
export function signToken(payload: string, key: SigningKey, jku: string): string {
  return signJwt({ jku, kid: key.kid, typ: 'JWT' }, payload, key.key);
}
