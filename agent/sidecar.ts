/**
 * Sidecar mode: a native sidecar (init container with restartPolicy Always) that fetches the keys like
 * init mode, answers its startup probe (GET /ready → 200) once they are written so the app starts after,
 * and then keeps them current without costing the vault a release per pod per interval (ADR 51):
 *
 *  - one runtime key for the process and one attestation kept until shortly before its tokens expire,
 *    so Azure Attestation is asked once per pod per token lifetime;
 *  - a key is released again only when a new version can exist (refresh-schedule.ts: its rotation is
 *    due, or `refreshMs` passed), with jitter, and only that key;
 *  - a failed round keeps the keys it has and is retried with backoff and jitter, never sooner than
 *    the service's Retry-After.
 *
 * A rotated key (a new version) replaces the file atomically (rename), so the app sees the old key or
 * the new one, never a torn file. The probe stays ready after a failure, since the files on disk are
 * still the latest it could verify.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../edge/log/log.ts';
import type { AgentConfig, KeySpec } from './config.ts';
import { AgentError, agentErrorFields } from './errors.ts';
import { runAgent, type AgentDeps, type AgentResult, type PodAttestation } from './flow.ts';
import { afterRelease, nextRelease, type ReleaseSeen } from './refresh-schedule.ts';
import { retryAtOf } from './retry.ts';
import { Reused } from './reused-token.ts';
import { generateRuntimeKey } from './runtime-key.ts';
import { startSkrApi, type SkrApi } from './skr-api/skr-api.ts';
import type { UnwrappedKey } from './unwrap.ts';

/** Fetch a new attestation this long before its tokens expire. */
const ATTESTATION_MARGIN_MS = 5 * 60_000;

/** The sidecar's time: the real clock, or a simulated one (bench/sidecar-refresh.ts). */
export interface SidecarClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const realClock: SidecarClock = {
  now: Date.now,
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
};

export interface SidecarDeps extends AgentDeps {
  host?: string;
  clock?: SidecarClock;
  /** In [0, 1): the jitter's source. */
  random?: () => number;
}

export interface SidecarCounts {
  /** Attestations made (evidence → Azure Attestation), one per authority set. */
  attestations: number;
  /** Key releases that succeeded, per key. */
  releases: number;
  /** Rounds that failed. */
  failures: number;
}

export interface Sidecar {
  /** Resolves after `stop()` once the current round ends. */
  done: Promise<void>;
  ready(): boolean;
  rounds(): number;
  counts(): SidecarCounts;
  stop(): Promise<void>;
}

export async function startSidecar(
  config: AgentConfig,
  deps: SidecarDeps = {},
): Promise<Sidecar & { port: number; skrApi?: SkrApi }> {
  const log = deps.log ?? silentLogger;
  const clock = deps.clock ?? realClock;
  const random = deps.random ?? Math.random;
  let ready = false;
  let rounds = 0;
  const counts: SidecarCounts = { attestations: 0, releases: 0, failures: 0 };
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
  // The token binds the runtime key: both live as long as the process.
  const runtimeKey = deps.runtimeKey ?? generateRuntimeKey();
  runtimeKey.catch(() => {}); // surfaces in the first round
  const attestation =
    deps.attestation ??
    new Reused<PodAttestation>(undefined, { marginMs: ATTESTATION_MARGIN_MS, now: clock.now });
  const seen = new Map<string, ReleaseSeen & { kid: string; next: number }>();
  // Only with the SKR API: the latest key of each alias, in memory, for its /key/release (ADR 52).
  const held = new Map<string, UnwrappedKey>();
  const onUnwrapped =
    config.skrApiPort === undefined
      ? undefined
      : (keys: readonly UnwrappedKey[]) => {
          for (const k of keys) held.set(k.spec.alias, k);
        };
  let skrApi: SkrApi | undefined;
  try {
    skrApi =
      config.skrApiPort === undefined
        ? undefined
        : await startSkrApi(config, config.skrApiPort, { ready: () => ready, held: (a) => held.get(a) }, log);
  } catch (err) {
    server.close();
    throw err;
  }
  const dueKeys = (): KeySpec[] =>
    config.keys.filter((k) => (seen.get(k.alias)?.next ?? -Infinity) <= clock.now());

  const round = async (keys: KeySpec[]): Promise<AgentResult> => {
    const fetchesBefore = attestation.fetches;
    try {
      return await runAgent(
        { ...config, keys },
        { ...deps, refresh: ready, runtimeKey, attestation, ...(onUnwrapped ? { onUnwrapped } : {}) },
      );
    } finally {
      counts.attestations += attestation.fetches - fetchesBefore;
      rounds += 1;
    }
  };
  const record = (result: AgentResult): void => {
    const at = clock.now();
    for (const k of result.keys) {
      const spec = config.keys.find((s) => s.alias === k.alias)!;
      const before = seen.get(k.alias);
      if (before !== undefined && before.kid !== k.kid)
        log.info('key rotated', { alias: k.alias, from: before.kid, to: k.kid });
      const after = afterRelease(
        before,
        { kid: k.kid, at, ...(k.createdAt === undefined ? {} : { createdAt: k.createdAt }) },
        spec.rotationMs,
      );
      const next = nextRelease(after, {
        refreshMs: config.refreshMs,
        ...(spec.rotationMs === undefined ? {} : { rotationMs: spec.rotationMs }),
        random,
      });
      seen.set(k.alias, { ...after, next });
      counts.releases += 1;
    }
  };

  const done = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const keys = dueKeys();
      if (keys.length > 0) {
        try {
          const result = await round(keys);
          record(result);
          failures = 0;
          if (!ready) log.info('ready', { keys: result.keys.map((k) => k.alias), totalMs: result.totalMs });
          ready = true;
        } catch (err) {
          failures += 1;
          counts.failures += 1;
          // A refused token (expired, or the policy changed) is not reused; throttling says nothing of it.
          const retryAt = retryAtOf(err);
          if (retryAt === undefined && !(err instanceof AgentError && err.kind === 'deadline-exceeded')) {
            attestation.invalidate();
          }
          log.warn(ready ? 'refresh failed; keeping the current keys' : 'fetch failed', {
            ...agentErrorFields(err),
            ...(retryAt === undefined ? {} : { retryAt: retryAt.toISOString() }),
          });
          const backoff = Math.min(config.refreshMs, 1000 * 2 ** Math.min(failures - 1, 5));
          const asked = retryAt === undefined ? 0 : retryAt.getTime() - clock.now();
          // Never before the Retry-After; spread so the pods of a deployment do not come back in step.
          await clock.sleep(Math.max(asked, backoff) * (1 + 0.25 * random()), stopping.signal);
          continue;
        }
      }
      const next = Math.min(...[...seen.values()].map((s) => s.next));
      await clock.sleep(Math.max(0, next - clock.now()), stopping.signal);
    }
  })();

  return {
    port,
    ...(skrApi === undefined ? {} : { skrApi }),
    done,
    ready: () => ready,
    rounds: () => rounds,
    counts: () => ({ ...counts }),
    async stop() {
      stopping.abort();
      await done;
      await skrApi?.close();
      held.clear();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
