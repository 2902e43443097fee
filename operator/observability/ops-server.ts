/**
 * The ops endpoints over plain HTTP, for Prometheus and the kubelet inside the cluster: /metrics,
 * /healthz (alias /livez) and /readyz. Health answers the way kube-apiserver's does: `ok`, or 503 with
 * one `[+]name ok` / `[-]name failed: reason` line per check (also on success with `?verbose`);
 * `?exclude=name` skips a check.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { SecureKeyError } from '../../core/errors.ts';
import { redactKeyMaterial } from '../../core/redact.ts';
import type { Logger } from '../../edge/log/log.ts';
import { contentType, type Registry } from './metrics.ts';

export interface Check {
  name: string;
  /** true = ok; false or a string (the reason) = failing. Throwing or timing out counts as failing. */
  check: () => boolean | string | Promise<boolean | string>;
}

export interface OpsServerOptions {
  host?: string;
  port?: number;
  registry: Registry;
  checks: { healthz: Check[]; readyz: Check[] };
  log?: Logger;
  /** A check that has not answered by then fails; kubelet gives up on a probe after 1 s by default. */
  checkTimeoutMs?: number;
}

export interface OpsServer {
  /** Where to reach it; a wildcard host is given as loopback. */
  url: string;
  close(): Promise<void>;
}

export class OpsServerError extends SecureKeyError<'listen-failed'> {}

export const ENDPOINTS = ['/metrics', '/healthz', '/livez', '/readyz'] as const;

interface Result {
  name: string;
  ok: boolean;
  reason: string;
}

/** Reasons have key material redacted and stay on one line: a newline could forge `[+]`. */
function oneLine(s: string): string {
  return redactKeyMaterial(s).replace(/[\r\n]+/g, ' ');
}

async function runCheck(c: Check, timeoutMs: number): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
  });
  try {
    const r = await Promise.race([Promise.resolve().then(() => c.check()), timeout]);
    if (r === true) return { name: c.name, ok: true, reason: '' };
    return { name: c.name, ok: false, reason: typeof r === 'string' ? oneLine(r) : '' };
  } catch (err) {
    return { name: c.name, ok: false, reason: oneLine(err instanceof Error ? err.message : String(err)) };
  } finally {
    clearTimeout(timer);
  }
}

function queryList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const timeoutMs = o.checkTimeoutMs ?? 5000;
  // Log a check when it starts or stops failing, not on every probe.
  const failing = new Map<string, string>();

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Cache-Control', 'no-store');
    next();
  });

  app.get('/metrics', (_req, res) => {
    let body: string;
    try {
      body = o.registry.render();
    } catch (err) {
      o.log?.error('metrics collection failed', { error: err });
      res.status(500).type('text/plain').send('metrics collection failed\n');
      return;
    }
    res.status(200).set('Content-Type', contentType).send(body);
  });

  const health = (endpoint: string, checks: Check[]) => async (req: Request, res: Response) => {
    const excluded = new Set(queryList(req.query['exclude']));
    const results = await Promise.all(
      checks.filter((c) => !excluded.has(c.name)).map((c) => runCheck(c, timeoutMs)),
    );
    for (const r of results) {
      const id = `${endpoint}/${r.name}`;
      if (!r.ok && failing.get(id) !== r.reason)
        o.log?.warn('check failing', { endpoint, check: r.name, reason: r.reason });
      if (r.ok && failing.has(id)) o.log?.info('check passing again', { endpoint, check: r.name });
      if (r.ok) failing.delete(id);
      else failing.set(id, r.reason);
    }
    const ok = results.every((r) => r.ok);
    res.status(ok ? 200 : 503).type('text/plain');
    if (ok && req.query['verbose'] === undefined) {
      res.send('ok');
      return;
    }
    const lines = results.map((r) =>
      r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed${r.reason ? `: ${r.reason}` : ''}`,
    );
    for (const c of checks) if (excluded.has(c.name)) lines.push(`[+]${c.name} excluded: ok`);
    lines.push(`${endpoint} check ${ok ? 'passed' : 'failed'}`);
    res.send(`${lines.join('\n')}\n`);
  };
  app.get('/healthz', health('healthz', o.checks.healthz));
  app.get('/livez', health('livez', o.checks.healthz));
  app.get('/readyz', health('readyz', o.checks.readyz));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found', endpoints: ENDPOINTS });
  });
  // Express's default handler would answer with an HTML stack trace outside production.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown }).status;
    const code = typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
    if (code === 500) o.log?.error('ops request failed', { error: err });
    res.status(code).json({ error: code === 500 ? 'internal error' : 'bad request' });
  });

  const server: Server = createServer(app);
  const host = o.host ?? '0.0.0.0';
  const port = o.port ?? 8080;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new OpsServerError('listen-failed', `ops server cannot listen on ${host}:${port}: ${err.message}`, {
          hint: 'another process may hold the port; set a different metrics address',
          cause: err,
        }),
      );
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const reachable =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets would otherwise hold close() open until they idle out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
