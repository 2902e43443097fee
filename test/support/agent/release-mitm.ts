/**
 * A man in the middle between the agent and the (simulated) vault, for tests: it holds a TLS
 * certificate for the vault's host from the same CA (the strongest position a network attacker can
 * have), forwards every request, and tampers with release responses. Its attack is key substitution:
 * it reads the runtime key from the attestation token the agent sends (`x-ms-runtime`), wraps a key of
 * its own choosing to it, and puts that `key_hsm` in the response — which would unwrap cleanly. Only
 * the JWS checks stand between the agent and the attacker's key.
 */
import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { wrapKeyHsm, type KeyHsmEnc } from '../../../core/keywrap/key-hsm.ts';
import { httpsAgent } from '../../../edge/http/https-agent.ts';
import { decodeJwt, signJwt } from '../../../sim/common/jwt/jwt.ts';
import { createSimulatorCa, type SimulatorCa } from '../../../sim/common/tls.ts';

export type Tampering =
  /** Forward unchanged (and remember the release responses, for `replay`). */
  | 'none'
  /** Substitute `key_hsm`, keep the vault's header and signature. */
  | 'alter-payload'
  /** Substitute `key_hsm` and re-sign with the attacker's own CA and a certificate naming the vault host. */
  | 'resign-foreign-ca'
  /** Substitute `key_hsm` and re-sign with a genuine certificate of the same CA for another host. */
  | 'resign-other-host'
  /** Answer with a genuine release response recorded earlier (another nonce, another runtime key). */
  | 'replay';

export interface ReleaseMitm {
  /** `https://<vault host>:<proxy port>`: give this to the agent as the vault URL. */
  url: string;
  tampering: Tampering;
  /** Release responses tampered with so far. */
  tampered: number;
  /** The key the attacker substituted (so a test can check it was not written). */
  readonly attackerKey: Buffer;
  close(): Promise<void>;
}

export async function startReleaseMitm(o: { ca: SimulatorCa; vaultUrl: string }): Promise<ReleaseMitm> {
  const vault = new URL(o.vaultUrl);
  const tls = o.ca.issue({ commonName: vault.hostname, dns: [vault.hostname] });
  const foreignCa = createSimulatorCa('Not the vault’s CA');
  const foreign = foreignCa.issue({ commonName: vault.hostname, dns: [vault.hostname], usage: 'signing' });
  const otherHost = o.ca.issue({
    commonName: 'other.managedhsm.localhost',
    dns: ['other.managedhsm.localhost'],
    usage: 'signing',
  });
  const upstream = httpsAgent({ caPem: o.ca.certPem, keepAlive: false });
  const recorded: string[] = [];
  const state = {
    tampering: 'none' as Tampering,
    tampered: 0,
    attackerKey: crypto.randomBytes(32),
  };

  const server = https.createServer({ key: tls.keyPem, cert: tls.chainPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: IncomingHttpHeaders = { ...req.headers, host: vault.host };
      const forward = https.request(
        new URL(req.url ?? '/', o.vaultUrl),
        { method: req.method, headers, agent: upstream },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            let answer = Buffer.concat(parts);
            const isRelease = /\/release$/.test(new URL(req.url ?? '/', o.vaultUrl).pathname);
            if (isRelease && up.statusCode === 200) {
              const value = (JSON.parse(answer.toString('utf8')) as { value: string }).value;
              const forged = tamper(value, body, state.tampering);
              if (state.tampering === 'none') recorded.push(value);
              if (forged !== value) state.tampered++;
              answer = Buffer.from(JSON.stringify({ value: forged }));
            }
            const outHeaders = { ...up.headers };
            delete outHeaders['content-length'];
            delete outHeaders['transfer-encoding'];
            res.writeHead(up.statusCode ?? 502, { ...outHeaders, 'content-length': String(answer.length) });
            res.end(answer);
          });
        },
      );
      forward.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });

  function tamper(jws: string, requestBody: Buffer, how: Tampering): string {
    if (how === 'none') return jws;
    if (how === 'replay') {
      const old = recorded[0];
      if (old === undefined) throw new Error('replay needs a release recorded with tampering "none" first');
      return old;
    }
    const doc = decodeJwt(jws).payload as {
      request: { enc: KeyHsmEnc };
      response: { key: { key: { key_hsm: string } } };
    };
    doc.response.key.key.key_hsm = attackerKeyHsm(requestBody, state.attackerKey, doc.request.enc);
    if (how === 'alter-payload') {
      // The vault's header and signature around the forged payload.
      const [header, , signature] = jws.split('.');
      const forgedPayload = Buffer.from(JSON.stringify(doc)).toString('base64url');
      return `${header}.${forgedPayload}.${signature}`;
    }
    const signer = how === 'resign-foreign-ca' ? foreign : otherHost;
    const thumbprint = crypto.createHash('sha256').update(signer.certDer).digest('base64url');
    const x5c = signer.chainDer.map((c) => c.toString('base64'));
    return signJwt({ kid: thumbprint, x5c, 'x5t#S256': thumbprint }, doc, signer.key);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${vault.hostname}:${port}`,
    get tampering() {
      return state.tampering;
    },
    set tampering(t: Tampering) {
      state.tampering = t;
    },
    get tampered() {
      return state.tampered;
    },
    set tampered(n: number) {
      state.tampered = n;
    },
    attackerKey: state.attackerKey,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Wraps `key` to the runtime key named in the release request's attestation token. */
function attackerKeyHsm(requestBody: Buffer, key: Buffer, enc: KeyHsmEnc): string {
  const { target } = JSON.parse(requestBody.toString('utf8')) as { target: string };
  const claims = decodeJwt(target).payload as {
    'x-ms-runtime': { keys: { kid: string; n: string; e: string }[] };
  };
  const jwk = claims['x-ms-runtime'].keys[0]!;
  const publicKey = crypto.createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  return wrapKeyHsm(key, publicKey, { enc, kid: jwk.kid });
}
