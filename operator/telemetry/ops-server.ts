/**
 * The ops endpoints over plain HTTP (scraped and probed inside the cluster): /metrics, /healthz (alias
 * /livez) and /readyz. Health answers like kube-apiserver's: "ok", or 503 with `[-]name failed: reason`
 * lines (all checks listed with `?verbose`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { safeMessage } from '../reconcile/conditions.ts';
import type { Logger } from './log.ts';
import { METRICS_CONTENT_TYPE, type Registry } from './metrics.ts';

export interface Check {
  name: string;
  /** true = ok; false or a string (the reason) = failing. Throwing counts as failing. */
  check: () => boolean | string | Promise<boolean | string>;
}

export interface OpsServerOptions {
  host?: string;
  port?: number;
  registry: Registry;
  checks: { healthz: Check[]; readyz: Check[] };
  log?: Logger;
}

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

async function run(checks: Check[]): Promise<Array<{ name: string; ok: boolean; reason: string }>> {
  return Promise.all(
    checks.map(async (c) => {
      try {
        const r = await c.check();
        return {
          name: c.name,
          ok: r === true,
          reason: r === true ? '' : r === false ? 'failing' : safeMessage(r),
        };
      } catch (err) {
        return {
          name: c.name,
          ok: false,
          reason: safeMessage(err instanceof Error ? err.message : String(err)),
        };
      }
    }),
  );
}

export async function startOpsServer(o: OpsServerOptions): Promise<OpsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', (_req, res) => {
    res.type(METRICS_CONTENT_TYPE).send(o.registry.render());
  });
  const health = (checks: Check[]) => async (req: express.Request, res: express.Response) => {
    const results = await run(checks);
    const ok = results.every((r) => r.ok);
    const verbose = req.query['verbose'] !== undefined;
    res.status(ok ? 200 : 503).type('text/plain');
    if (ok && !verbose) return void res.send('ok\n');
    const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.reason}`));
    res.send(`${lines.join('\n')}\n${ok ? 'ok' : 'check failed'}\n`);
  };
  app.get(['/healthz', '/livez'], health(o.checks.healthz));
  app.get('/readyz', health(o.checks.readyz));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found', endpoints: ['/metrics', '/healthz', '/livez', '/readyz'] });
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(o.port ?? 8080, o.host ?? '0.0.0.0', (err?: Error) =>
      err ? reject(err) : resolve(s),
    );
    s.on('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host === undefined || o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
