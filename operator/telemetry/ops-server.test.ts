import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from './metrics.ts';
import { startOpsServer, type Check, type OpsServer } from './ops-server.ts';

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readyz: Check[]): Promise<string> {
  const registry = new Registry();
  registry.counter({ name: 'x_total', help: 'X.', labelNames: [] }).inc();
  server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    checks: { healthz: [{ name: 'alive', check: () => true }], readyz },
  });
  return server.url;
}

describe('ops server', () => {
  it('serves /metrics in the exposition format and /healthz ok', async () => {
    const url = await start([]);
    const m = await fetch(`${url}/metrics`);
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await m.text()).toContain('x_total 1');
    const h = await fetch(`${url}/healthz`);
    expect([h.status, await h.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`${url}/livez`)).status).toBe(200);
  });

  it('/readyz is 503 naming failing and throwing checks; ?verbose lists all', async () => {
    const url = await start([
      { name: 'synced', check: () => true },
      { name: 'informers', check: () => 'pods informer heard nothing for 700 s' },
      { name: 'boom', check: () => Promise.reject(new Error('exploded')) },
    ]);
    const r = await fetch(`${url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe(
      '[+]synced ok\n[-]informers failed: pods informer heard nothing for 700 s\n[-]boom failed: exploded\ncheck failed\n',
    );
  });

  it('answers unknown paths with 404', async () => {
    const url = await start([]);
    const r = await fetch(`${url}/nope`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { endpoints: string[] }).endpoints).toContain('/readyz');
  });
});
