import { afterAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../../test/support/https-request.ts';
import { FaultInjector, SIMULATOR_HEADER } from './http.ts';
import { faultsEndpoint, listenSimulator, simulatorApp } from './server-kit.ts';
import { createSimulatorCa } from './tls.ts';

const ca = createSimulatorCa('server kit test CA');
const closers: (() => Promise<void>)[] = [];
afterAll(() => Promise.all(closers.map((close) => close())));

describe('listenSimulator', () => {
  it('answers 503 until the app is attached, then the app, over HTTPS for the public host', async () => {
    const server = await listenSimulator({
      ca,
      publicHost: 'kit.localhost',
      certificate: { commonName: 'kit', dns: ['kit.localhost'] },
    });
    closers.push(server.close);
    expect(server.url).toBe(`https://kit.localhost:${server.port}`);
    const before = await httpsRequest(`${server.url}/x`, { caPem: ca.certPem });
    expect(before.status).toBe(503);
    expect(before.headers['retry-after']).toBe('1');
    const app = simulatorApp('kit');
    app.get('/x', (_req, res) => res.send('ready'));
    server.attach(app);
    const after = await httpsRequest(`${server.url}/x`, { caPem: ca.certPem });
    expect(after).toMatchObject({ status: 200, text: 'ready' });
    expect(after.headers[SIMULATOR_HEADER]).toBe('kit');
  });

  it('serves plain HTTP without a CA', async () => {
    const server = await listenSimulator({});
    closers.push(server.close);
    server.attach((_req, res) => res.end('plain'));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(server.url)).text()).toBe('plain');
  });
});

describe('faultsEndpoint', () => {
  it('takes a fault plan only with the admin token, as a bearer token or in X-Simulator-Admin-Token', async () => {
    const server = await listenSimulator({});
    closers.push(server.close);
    const faults = new FaultInjector();
    const logged: unknown[] = [];
    const app = simulatorApp('kit', (e) => logged.push(e));
    faultsEndpoint(app, faults, 's3cret');
    server.attach(app);
    const put = (headers: Record<string, string>) =>
      fetch(`${server.url}/_simulator/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ outage: { count: 2 }, match: '^GET ' }),
      });
    expect((await put({})).status).toBe(403);
    expect((await put({ authorization: 'Bearer wrong' })).status).toBe(403);
    expect(faults.plan).toEqual({});
    expect((await put({ authorization: 'Bearer s3cret' })).status).toBe(200);
    expect(faults.plan).toEqual({ outage: { count: 2 }, match: /^GET / });
    faults.plan = {};
    expect((await put({ 'x-simulator-admin-token': 's3cret' })).status).toBe(200);
    expect(faults.plan.outage).toEqual({ count: 2 });
    expect(logged).toContainEqual({ sim: 'kit', method: 'PUT', path: '/_simulator/faults', status: 403 });
  });
});
