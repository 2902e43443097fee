/**
 * Sidecar mode: a native sidecar (init container with restartPolicy Always) that fetches the keys like
 * init mode, answers its startup probe (GET /ready → 200) once they are written so the app starts after,
 * and then repeats the whole attested release every `refreshMs`. A rotated key (a new version) replaces
 * the file atomically (rename), so the app sees the old key or the new one, never a torn file; an
 * unchanged key is rewritten with the same bytes. A failed refresh keeps the keys it has and retries
 * with backoff; the probe stays ready, since the files on disk are still the latest it could verify.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../edge/log/log.ts';
import type { AgentConfig } from './config.ts';
import { agentErrorFields } from './errors.ts';
import { runAgent, type AgentDeps, type AgentResult } from './flow.ts';

export interface Sidecar {
  /** Resolves after `stop()` once the current round ends. */
  done: Promise<void>;
  ready(): boolean;
  rounds(): number;
  stop(): Promise<void>;
}

export async function startSidecar(
  config: AgentConfig,
  deps: AgentDeps & { host?: string } = {},
): Promise<Sidecar & { port: number }> {
  const log = deps.log ?? silentLogger;
  let ready = false;
  let rounds = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/ready') {
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ready\n' : 'fetching keys\n');
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.probePort, deps.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const stopping = new AbortController();
  const versions = new Map<string, string>();
  const round = async (): Promise<AgentResult> => {
    const result = await runAgent(config, { ...deps, refresh: rounds > 0 });
    rounds += 1;
    for (const k of result.keys) {
      const before = versions.get(k.alias);
      if (before !== undefined && before !== k.kid)
        log.info('key rotated', { alias: k.alias, from: before, to: k.kid });
      versions.set(k.alias, k.kid);
    }
    return result;
  };

  const done = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const result = await round();
        failures = 0;
        if (!ready) log.info('ready', { keys: result.keys.map((k) => k.alias), totalMs: result.totalMs });
        ready = true;
        await sleep(config.refreshMs, undefined, { signal: stopping.signal }).catch(() => {});
      } catch (err) {
        failures += 1;
        log.warn(ready ? 'refresh failed; keeping the current keys' : 'fetch failed', agentErrorFields(err));
        const backoff = Math.min(config.refreshMs, 1000 * 2 ** Math.min(failures - 1, 5));
        await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  })();

  return {
    port,
    done,
    ready: () => ready,
    rounds: () => rounds,
    async stop() {
      stopping.abort();
      await done;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
