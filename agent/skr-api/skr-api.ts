/**
 * A drop-in for the SKR sidecar's local HTTP API (ADR 52), served by the native sidecar when the pod asks
 * for it (`securekey.io/skr-api: "<port>"`): the same routes, bodies, answers and status codes, so
 * applications and test clients written for Microsoft's sidecar work unchanged, bound to the loopback
 * addresses only.
 *
 *   GET  /status        200 {"message":"Status OK"} (once the keys are released; "Status NOT OK" before)
 *   POST /key/release   {"maa_endpoint","akv_endpoint","kid","access_token"?} → 200 {"key":"<JWK JSON>"}
 *   POST /attest/maa    {"maa_endpoint","runtime_data"} → 200 {"token":"<MAA JWT>"}
 *   POST /attest/raw    {"runtime_data"} → 200 {"report":"<hex>"}
 *
 * Errors are `{"error":"<message>"}`: 400 for a bad body, 403 for anything refused or failed (as the
 * sidecar), 404 `404 page not found` for another route. Behind it: `/key/release` answers with the key the
 * sidecar released — attested with its kept token, the release verified, unwrapped with its runtime key —
 * and only for keys the pod's SecureKeys name; no request reaches the vault. The two attest routes make a
 * fresh report with the caller's runtime data (and one Azure Attestation call, to an authority the pod's
 * keys name), as the sidecar does.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Logger } from '../../edge/log/log.ts';
import { formatKeyMaterial } from '../../core/keys/output-formats.ts';
import { attest } from '../attest.ts';
import { readConfigPem, type AgentConfig } from '../config.ts';
import { agentErrorFields } from '../errors.ts';
import { attesterFor } from '../evidence/select.ts';
import { ThimClient } from '../evidence/thim.ts';
import { readUvmReferenceInfo } from '../evidence/uvm-context.ts';
import { resolveVcekChain } from '../evidence/vcek-chain.ts';
import type { UnwrappedKey } from '../unwrap.ts';
import {
  BadSkrRequest,
  keyNamed,
  keyReleaseRequest,
  MAX_BODY_BYTES,
  maaAttestRequest,
  rawAttestRequest,
  reportDataFor,
  sameHost,
} from './requests.ts';

export interface SkrApiSource {
  /** The sidecar has released every key once. */
  ready(): boolean;
  /** The key the sidecar holds for this alias (the latest version it released), if any. */
  held(alias: string): UnwrappedKey | undefined;
}

export interface SkrApi {
  /** Ports bound, by address (127.0.0.1, and ::1 where the pod has IPv6). */
  addresses: { address: string; port: number }[];
  close(): Promise<void>;
}

/** Refused or failed: the sidecar answers 403 for every failure of attestation or release. */
class Refused extends Error {}

const sha256 = (d: Uint8Array): Buffer => crypto.createHash('sha256').update(d).digest();

export async function startSkrApi(
  config: AgentConfig,
  port: number,
  source: SkrApiSource,
  log: Logger,
): Promise<SkrApi> {
  const routes: Record<string, (body: string) => Promise<Record<string, unknown>>> = {
    'POST /key/release': async (body) => {
      const r = keyReleaseRequest(body);
      const spec = keyNamed(config.keys, r);
      if (spec === undefined) {
        throw new Refused(
          `secure key release failed: key ${r.kid} on ${r.akvEndpoint} with authority ${r.maaEndpoint} is not a key this pod's SecureKeys name`,
        );
      }
      const key = source.held(spec.alias);
      if (key === undefined || !source.ready()) {
        throw new Refused(`secure key release failed: key ${r.kid} has not been released to this pod yet`);
      }
      const version = r.kid.split('/')[1];
      if (version !== undefined && !key.kid.endsWith(`/${version}`)) {
        throw new Refused(
          `secure key release failed: this pod holds ${key.kid}, not version ${version} of key ${spec.name}`,
        );
      }
      log.info('skr api: key served', { key: spec.alias, kid: key.kid });
      return { key: formatKeyMaterial(key.material, 'jwk', { keyOps: key.keyOps }).toString('utf8') };
    },
    'POST /attest/maa': async (body) => {
      const r = maaAttestRequest(body);
      const authority = [...new Set(config.keys.map((k) => k.attestationUrl))].find((a) =>
        sameHost(a, r.maaEndpoint),
      );
      if (authority === undefined) {
        throw new Refused(
          `attestation failed: ${r.maaEndpoint} is not an attestation authority of this pod's SecureKeys`,
        );
      }
      return { token: await attestWith(authority, r.runtimeData) };
    },
    'POST /attest/raw': async (body) => {
      const r = rawAttestRequest(body);
      const { report } = await evidenceFor(r.runtimeData);
      return { report: report.toString('hex') };
    },
  };

  const ca = async (): Promise<{ caPem?: string }> => {
    const caPem =
      config.caPem ??
      (config.caFile === undefined ? undefined : await readConfigPem(config.caFile, 'caFile'));
    return caPem === undefined ? {} : { caPem };
  };
  const evidenceFor = async (runtimeData: Buffer) => {
    const deadline = Date.now() + config.timeoutMs;
    const attester = await attesterFor(config, { ...(await ca()), deadline });
    try {
      return await attester.report(reportDataFor(runtimeData, sha256));
    } finally {
      await attester.close?.();
    }
  };
  const attestWith = async (authority: string, runtimeData: Buffer): Promise<string> => {
    const deadline = Date.now() + config.timeoutMs;
    const tls = await ca();
    const evidence = await evidenceFor(runtimeData);
    // The UVM endorsement, as the agent's own attestation sends it: without it Azure Attestation issues
    // no compliance status, and a token the application shows a relying party would say less (ADR 45).
    const { found } = await readUvmReferenceInfo(
      config.uvmSecurityContextDir === undefined ? {} : { dir: config.uvmSecurityContextDir },
    );
    const reference = found ?? evidence.uvmReferenceInfo;
    const chain = await resolveVcekChain(evidence, {
      mode: config.vcekSource,
      thim: new ThimClient({ url: config.thimUrl, ...tls, deadline }),
      ...(config.kdsUrl ? { kds: { url: config.kdsUrl, ...tls } } : {}),
    });
    return attest({
      attestationUrl: authority,
      report: evidence.report,
      vcekChainPem: chain.pem,
      runtimeData,
      ...(reference === undefined ? {} : { uvmReferenceInfo: reference.cose }),
      ...tls,
      deadline,
    });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/status') {
      return json(res, 200, { message: source.ready() ? 'Status OK' : 'Status NOT OK' });
    }
    const route = routes[`${req.method} ${path}`];
    if (route === undefined) {
      req.resume();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      return;
    }
    try {
      const body = await readBody(req);
      json(res, 200, await route(body));
    } catch (err) {
      if (err instanceof BadSkrRequest) return json(res, 400, { error: err.message });
      if (!(err instanceof Refused)) log.warn('skr api: request failed', { path, ...agentErrorFields(err) });
      json(res, 403, { error: err instanceof Error ? err.message : String(err) });
    }
  };

  const servers: http.Server[] = [];
  const addresses: { address: string; port: number }[] = [];
  // Loopback only, as the sidecar: the pod's containers share its network namespace, nothing else may ask.
  let bound = port;
  for (const host of ['127.0.0.1', '::1']) {
    const server = http.createServer((req, res) => void handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, host, () => resolve());
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A pod without IPv6 has no ::1; the IPv4 loopback is what the sidecar's clients use.
      if (host === '::1' && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) continue;
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      throw err;
    }
    servers.push(server);
    bound = (server.address() as { port: number }).port; // port 0 (tests): the same port on both
    addresses.push({ address: host, port: bound });
  }
  log.info('skr api listening', { addresses });
  return {
    addresses,
    async close() {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

function json(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.destroy();
      throw new BadSkrRequest(`invalid request format: the body is over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
