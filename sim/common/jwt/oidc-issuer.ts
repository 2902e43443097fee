/**
 * A minimal OpenID token issuer, served over HTTPS with a simulator-CA certificate: it plays a
 * Kubernetes service-account issuer (client assertions for Entra) or an attestation service (release
 * targets for the vault) — `/.well-known/openid-configuration`, a JWKS at `/certs` whose entries carry
 * `x5c` (and, unless `x5cOnly`, `n`/`e`), and `sign()` for tokens. Not a simulator of any real service.
 */
import crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { serveHttps } from '../http.ts';
import type { SimulatorCa } from '../tls.ts';
import type { Jwks } from './issuer-keys.ts';
import { signJwt } from './jwt.ts';
import type { JsonObject } from './jwt.ts';

export interface TestIssuerOptions {
  ca: SimulatorCa;
  /** Default `issuer.localhost`. */
  publicHost?: string;
  /** Publish keys as MAA does: `x5c` only, no `n`/`e`. */
  x5cOnly?: boolean;
}

export interface SignOptions {
  /** `unknown`: a key whose kid is not in the JWKS; `impostor`: the published kid, another key. */
  key?: 'published' | 'unknown' | 'impostor';
  /** Extra or replaced header members. */
  header?: JsonObject;
}

export interface TestIssuer {
  /** The `iss` of its tokens, `https://<host>:<port>`. */
  issuer: string;
  kid: string;
  jwks: Jwks;
  /** Requests served (metadata and keys). */
  requests(): number;
  sign(claims: JsonObject, options?: SignOptions): string;
  close(): Promise<void>;
}

export async function startTestIssuer(options: TestIssuerOptions): Promise<TestIssuer> {
  const publicHost = options.publicHost ?? 'issuer.localhost';
  const tls = options.ca.issue({ commonName: publicHost, dns: [publicHost] });
  const signing = options.ca.issue({
    commonName: `${publicHost} token signing`,
    usage: 'signing',
    keyType: 'rsa',
  });
  const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  // MAA-style kid: standard base64 of the certificate's SHA-256.
  const kid = crypto.createHash('sha256').update(signing.certDer).digest('base64');
  const { n, e } = crypto.createPublicKey(signing.key).export({ format: 'jwk' });
  const jwk: JsonObject = {
    alg: 'RS256',
    kid,
    kty: 'RSA',
    use: 'sig',
    x5c: [signing.certDer.toString('base64')],
  };
  if (options.x5cOnly !== true) Object.assign(jwk, { n, e });
  const jwks: Jwks = { keys: [jwk] };
  let served = 0;
  let issuer = '';
  const server = await serveHttps(
    (req, res) => {
      served++;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/.well-known/openid-configuration') {
        send(200, { issuer, jwks_uri: `${issuer}/certs`, id_token_signing_alg_values_supported: ['RS256'] });
      } else if (req.url === '/certs') {
        send(200, jwks);
      } else {
        send(404, { error: 'not found' });
      }
    },
    { keyPem: tls.keyPem, certPem: tls.certPem, publicHost },
  );
  issuer = server.url;
  return {
    issuer,
    kid,
    jwks,
    requests: () => served,
    sign(claims, signOptions = {}) {
      const which = signOptions.key ?? 'published';
      const key: KeyObject = which === 'published' ? signing.key : stranger;
      const header: JsonObject = {
        kid: which === 'unknown' ? 'not-in-the-jwks' : kid,
        typ: 'JWT',
        ...signOptions.header,
      };
      return signJwt(header, claims, key);
    },
    close: () => server.close(),
  };
}
