import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../edge/log/log.ts';
import { Registry } from './metrics.ts';
import {
  OpsServerError,
  startOpsServer,
  type Check,
  type OpsServer,
  type OpsServerOptions,
} from './ops-server.ts';

const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(o: Partial<OpsServerOptions> = {}): Promise<OpsServer> {
  const registry = o.registry ?? new Registry();
  const s = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    checks: o.checks ?? { healthz: [], readyz: [] },
    ...o,
  });
  servers.push(s);
  return s;
}

const ok = (name: string): Check => ({ name, check: () => true });

describe('startOpsServer', () => {
  it('serves /metrics in the 0.0.4 text format', async () => {
    const registry = new Registry();
    registry.counter({ name: 'securekey_reconcile_errors_total', help: 'Failed reconciles.' }).inc();
    const s = await start({ registry });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await res.text()).toBe(
      '# HELP securekey_reconcile_errors_total Failed reconciles.\n' +
        '# TYPE securekey_reconcile_errors_total counter\n' +
        'securekey_reconcile_errors_total 1\n',
    );
  });

  it('answers 500 without details when a collector throws, and logs it', async () => {
    const registry = new Registry();
    registry.onCollect(() => {
      throw new Error('sampler broke');
    });
    const lines: string[] = [];
    const s = await start({ registry, log: createLogger({ write: (l) => lines.push(l) }) });
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('metrics collection failed\n');
    expect(lines.join('')).toContain('sampler broke');
  });

  it('says ok on /healthz, /livez and /readyz when every check passes', async () => {
    const s = await start({
      checks: {
        healthz: [ok('ping')],
        readyz: [ok('informers-synced'), { name: 'async', check: async () => true }],
      },
    });
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const res = await fetch(s.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('ok');
    }
  });

  it('lists every check with ?verbose', async () => {
    const s = await start({ checks: { healthz: [ok('ping'), ok('informers')], readyz: [] } });
    const res = await fetch(`${s.url}/healthz?verbose`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('[+]ping ok\n[+]informers ok\nhealthz check passed\n');
    const live = await fetch(`${s.url}/livez?verbose=1`);
    expect(await live.text()).toBe('[+]ping ok\n[+]informers ok\nlivez check passed\n');
  });

  it('answers 503 naming each failing check and its reason, whether it returned false, a reason or threw', async () => {
    const lines: string[] = [];
    const s = await start({
      log: createLogger({ write: (l) => lines.push(l) }),
      checks: {
        healthz: [ok('ping')],
        readyz: [
          ok('ping'),
          { name: 'informers-synced', check: () => false },
          { name: 'informers', check: () => 'pods watch stalled for 3m0s\nsecond line' },
          {
            name: 'vault',
            check: async () => {
              throw new Error('connect ECONNREFUSED 10.0.0.9:443');
            },
          },
        ],
      },
    });
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(
      [
        '[+]ping ok',
        '[-]informers-synced failed',
        '[-]informers failed: pods watch stalled for 3m0s second line',
        '[-]vault failed: connect ECONNREFUSED 10.0.0.9:443',
        'readyz check failed',
        '',
      ].join('\n'),
    );
    // Liveness is separate.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

    // Logged once per transition, not on every probe.
    await fetch(`${s.url}/readyz`);
    const failing = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['msg'] === 'check failing');
    expect(failing.map((r) => r['check'])).toEqual(['informers-synced', 'informers', 'vault']);
  });

  it('redacts key material in a failing reason', async () => {
    const leaked = 'Zm9vYmFyQmF6UXV4UXV1eENvcmdlR3JhdWx0R2FycGx5V2FsZG8xMjM0NTY3ODk';
    const s = await start({
      checks: { healthz: [], readyz: [{ name: 'unwrap', check: () => `unwrap failed for ${leaked}` }] },
    });
    const body = await (await fetch(`${s.url}/readyz`)).text();
    expect(body).toContain('[-]unwrap failed: unwrap failed for [redacted]');
    expect(body).not.toContain(leaked.slice(0, 12));
  });

  it('fails a check that does not answer in time', async () => {
    const s = await start({
      checkTimeoutMs: 50,
      checks: { healthz: [], readyz: [{ name: 'slow', check: () => new Promise<boolean>(() => {}) }] },
    });
    const res = await fetch(`${s.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('[-]slow failed: no answer within 50 ms\nreadyz check failed\n');
  });

  it('skips checks named in ?exclude', async () => {
    const s = await start({
      checks: { healthz: [], readyz: [ok('ping'), { name: 'vault', check: () => 'unreachable' }] },
    });
    const res = await fetch(`${s.url}/readyz?exclude=vault&verbose`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('[+]ping ok\n[+]vault excluded: ok\nreadyz check passed\n');
  });

  it('answers 404 JSON for anything else', async () => {
    const s = await start();
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/metrics/extra'],
      ['POST', '/metrics'],
      ['DELETE', '/readyz'],
    ] as const) {
      const res = await fetch(s.url + path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        error: 'not found',
        endpoints: ['/metrics', '/healthz', '/livez', '/readyz'],
      });
    }
  });

  it('answers a malformed request without a stack trace', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/%E0%A4%A`);
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).not.toContain(' at ');
  });

  it('closes promptly while a probe is in flight, and close is idempotent', async () => {
    let called!: () => void;
    const entered = new Promise<void>((resolve) => (called = resolve));
    const s = await start({
      checkTimeoutMs: 10_000,
      checks: {
        healthz: [],
        readyz: [
          {
            name: 'hangs',
            check: () => {
              called();
              return new Promise<boolean>(() => {});
            },
          },
        ],
      },
    });
    const inFlight = fetch(`${s.url}/readyz`).then(
      () => 'answered',
      () => 'cut',
    );
    await entered;
    const t0 = performance.now();
    await s.close();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await inFlight).toBe('cut');
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });

  it('refuses a port in use with a listen-failed error', async () => {
    const first = await start();
    const { port } = new URL(first.url);
    const err = await start({ port: Number(port) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsServerError);
    expect((err as OpsServerError).kind).toBe('listen-failed');
    expect((err as OpsServerError).message).toContain(`127.0.0.1:${port}`);
  });

  it('reports a wildcard host as loopback', async () => {
    const s = await start({ host: '0.0.0.0' });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
  });
});
