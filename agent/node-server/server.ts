/**
 * The node agent's HTTPS server (ADR 14, ADR 39): `POST /v1/keys` for the pods of this node, `GET
 * /healthz`, `/readyz` and `/metrics`. Node-local TLS from a certificate and key file, re-read when they
 * change (a renewed Secret), so rotation needs no restart.
 *
 * Bounds: at most `maxInFlight` key requests at once (the next gets 429 with Retry-After, unread), a body
 * of at most `maxBodyBytes` (16 KiB: a request names at most 32 keys), and an answer within
 * `requestTimeoutMs` (else 503 with Retry-After: the release in flight goes on and warms the cache for
 * the pod's retry). Errors are `{"error":{"code","message"}}`; no answer or log line carries a token or
 * key material.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../../edge/log/log.ts';
import { NodeServerError, REFUSALS } from './authorise.ts';
import type { KeySource } from './key-source.ts';
import { NodeServerMetrics } from './metrics.ts';
import { parseKeyRequests, serveKeys, type ServeDeps } from './serve-keys.ts';

export const MAX_BODY_BYTES = 16 * 1024;
export const MAX_IN_FLIGHT = 64;

export interface NodeServerOptions {
  host?: string;
  port?: number;
  certFile: string;
  keyFile: string;
  serve: ServeDeps;
  source: Pick<KeySource, 'name' | 'ready'>;
  metrics?: NodeServerMetrics;
  maxInFlight?: number;
  maxBodyBytes?: number;
  requestTimeoutMs?: number;
  /** How often the certificate files are checked for a change; default 30 s. */
  tlsReloadMs?: number;
  log?: Logger;
}

export interface NodeServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Tls {
  cert: string;
  key: string;
}

const readTls = (o: NodeServerOptions): Tls => ({
  cert: readFileSync(o.certFile, 'utf8'),
  key: readFileSync(o.keyFile, 'utf8'),
});

export async function startNodeServer(o: NodeServerOptions): Promise<NodeServer> {
  const log = o.log ?? silentLogger;
  const metrics = o.metrics ?? new NodeServerMetrics();
  const maxInFlight = o.maxInFlight ?? MAX_IN_FLIGHT;
  const maxBody = o.maxBodyBytes ?? MAX_BODY_BYTES;
  const timeoutMs = o.requestTimeoutMs ?? 30_000;
  let tls = readTls(o);

  const answer = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, err: NodeServerError) => {
    // A request answered at its deadline is not answered (or counted) again when its work ends.
    if (res.headersSent) return;
    const { status, code } = REFUSALS[err.kind];
    metrics.request(code);
    answer(
      res,
      status,
      { error: { code, message: err.message } },
      err.retryAfterS === undefined ? {} : { 'retry-after': String(err.retryAfterS) },
    );
  };

  const handleKeys = async (req: IncomingMessage, res: ServerResponse) => {
    if (metrics.inFlight >= maxInFlight) {
      req.resume();
      refuse(
        res,
        new NodeServerError('overloaded', `${maxInFlight} key requests already in progress; retry`, {
          retryAfterS: 1,
        }),
      );
      return;
    }
    metrics.inFlight++;
    const deadline = setTimeout(
      () => refuse(res, new NodeServerError('timeout', 'no answer in time; retry', { retryAfterS: 1 })),
      timeoutMs,
    );
    try {
      const body = await readBody(req, maxBody);
      const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const served = await serveKeys(token, parseKeyRequests(body), o.serve);
      clearTimeout(deadline);
      if (res.headersSent) return;
      metrics.request('OK');
      log.info('keys served', {
        pod: `${served.caller.namespace}/${served.caller.podName}`,
        keys: served.keys.map((k) => ({ alias: k.alias, kid: k.kid })),
      });
      answer(res, 200, { keys: served.keys });
    } catch (err) {
      clearTimeout(deadline);
      if (err instanceof NodeServerError) {
        if (!res.headersSent)
          log.info('request refused', { code: REFUSALS[err.kind].code, reason: err.message });
        refuse(res, err);
      } else {
        log.error('request failed', { error: err });
        refuse(res, new NodeServerError('internal', 'the node agent failed; see its log'));
      }
    } finally {
      metrics.inFlight--;
    }
  };

  const server = https.createServer({ ...tls, minVersion: 'TLSv1.2' }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && path === '/v1/keys') return void handleKeys(req, res);
    req.resume();
    if (req.method === 'GET' && path === '/healthz') {
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    }
    if (req.method === 'GET' && path === '/readyz') {
      const ready = o.source.ready?.() ?? true;
      return void res
        .writeHead(ready === true ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready === true ? 'ready\n' : `${ready}\n`);
    }
    if (req.method === 'GET' && path === '/metrics') {
      const text = metrics.render({ keysInMemory: o.serve.keys.size, keySource: o.source.name });
      return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text);
    }
    answer(res, 404, { error: { code: 'NotFound', message: `no ${req.method} ${path}` } });
  });
  server.requestTimeout = timeoutMs + 5_000;
  server.headersTimeout = Math.min(timeoutMs, 10_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8443, o.host ?? '0.0.0.0', () => resolve());
  });

  // A renewed certificate (cert-manager, a rotated Secret) is picked up without a restart.
  const reload = setInterval(() => {
    try {
      const next = readTls(o);
      if (next.cert === tls.cert && next.key === tls.key) return;
      server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
      tls = next;
      log.info('serving certificate reloaded', { certFile: o.certFile });
    } catch (err) {
      log.warn('serving certificate not reloaded; keeping the current one', { error: err });
    }
  }, o.tlsReloadMs ?? 30_000);
  reload.unref();

  const { port } = server.address() as AddressInfo;
  const host = o.host === undefined || o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `https://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(reload);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The body as JSON, refused (400) past `max` bytes before more is buffered, or when it is not JSON. */
function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  const tooLarge = () => new NodeServerError('bad-request', `the body is larger than ${max} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > max) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > max) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new NodeServerError('bad-request', 'the body is not JSON'));
      }
    });
  });
}
