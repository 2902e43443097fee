/**
 * The informer against the real API server, through a TCP proxy the test can cut, freeze and restore:
 * paginated list, trimmed watch events, recovery after connection loss, and the staleness watchdog.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Informer, type InformerEvent } from '../../../edge/kube/informer.ts';
import { KubeHttp } from '../../../edge/kube/kube-http.ts';
import { trimPod, type ObservedPod } from '../../../core/workload/index.ts';
import { policy } from '../../support/reconcile.ts';
import { kubeAccessFromFile } from '../../../edge/kube/kubeconfig.ts';
import { eventually } from '../../../scripts/cluster/eventually.ts';

const NS = 'op-informer';
const ANNOTATION = 'io.katacontainers.config.agent.policy';

/** A TCP proxy to the API server that can drop every connection or stop forwarding bytes. */
class Proxy {
  server: net.Server;
  sockets = new Set<net.Socket>();
  frozen = false;
  port = 0;
  private readonly target: { host: string; port: number };

  constructor(target: { host: string; port: number }) {
    this.target = target;
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      this.sockets.add(client).add(upstream);
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on('data', (chunk) => {
          if (!this.frozen) to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

describe('informer on a real API server', () => {
  let direct: KubeHttp;
  let proxy: Proxy;
  let http: KubeHttp;
  const events: Array<[InformerEvent, string]> = [];
  const errors: unknown[] = [];
  let informer: Informer<ObservedPod>;

  const createPod = (
    name: string,
    labels: Record<string, string> = {},
    annotations: Record<string, string> = {},
  ) =>
    direct.expect('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      body: {
        metadata: { name, labels: { 'securekey.io/inject': 'true', ...labels }, annotations },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
    });

  beforeAll(async () => {
    direct = KubeHttp.fromFile(inject('kubeconfig'));
    await direct.expect('POST', '/api/v1/namespaces', [201, 409], { body: { metadata: { name: NS } } });
    await direct.expect('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, [201, 409], {
      body: { metadata: { name: 'default' } },
    });
    for (let i = 0; i < 5; i++) await createPod(`pre-${i}`, {}, { [ANNOTATION]: policy(`p${i}`).annotation });
    await direct.expect('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      body: { metadata: { name: 'not-opted-in' }, spec: { containers: [{ name: 'app', image: 'x' }] } },
    });

    const server = new URL(direct.server);
    proxy = new Proxy({ host: server.hostname, port: Number(server.port) });
    await proxy.listen();
    // Same TLS identity (the serving certificate names 127.0.0.1), another port.
    http = new KubeHttp({
      ...kubeAccessFromFile(inject('kubeconfig')),
      server: `https://127.0.0.1:${proxy.port}`,
    });

    informer = new Informer<ObservedPod>({
      http,
      name: 'pods',
      path: `/api/v1/namespaces/${NS}/pods`,
      labelSelector: 'securekey.io/inject=true',
      trim: trimPod,
      indexOf: (p) => p.namespace,
      pageSize: 2,
      staleAfterMs: 1500,
      onEvent: (type, pod) => events.push([type, pod.name]),
      onError: (err) => errors.push(err),
    });
    informer.start();
    await eventually(() => informer.hasSynced(), 10_000, 'first list');
  });

  afterAll(async () => {
    await informer?.stop();
    await proxy?.close();
    http?.close();
    direct?.close();
  });

  it('lists every opt-in pod across pages, trimmed to digests', () => {
    expect(
      informer
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4']);
    expect(informer.get(`${NS}/pre-2`)?.policies).toEqual({
      'kata-agent-policy': { digest: policy('p2').digest },
    });
    expect(informer.byIndex(NS)).toHaveLength(5);
    expect(informer.health()).toBe(true);
  });

  it('delivers adds, meaningful updates and deletes; ignores updates that do not change the trimmed pod', async () => {
    events.length = 0;
    await createPod('live');
    await eventually(() => events.some(([t, n]) => t === 'add' && n === 'live'));
    // An annotation the operator does not keep: no update event.
    await direct.expect('PATCH', `/api/v1/namespaces/${NS}/pods/live`, [200], {
      body: { metadata: { annotations: { 'example.com/noise': '1' } } },
      contentType: 'application/merge-patch+json',
    });
    await direct.expect('PATCH', `/api/v1/namespaces/${NS}/pods/live`, [200], {
      body: { metadata: { labels: { tier: 'gold' } } },
      contentType: 'application/merge-patch+json',
    });
    await eventually(() => events.some(([t, n]) => t === 'update' && n === 'live'));
    expect(events.filter(([t, n]) => t === 'update' && n === 'live')).toHaveLength(1);
    expect(informer.get(`${NS}/live`)?.labels['tier']).toBe('gold');
    await direct.expect('DELETE', `/api/v1/namespaces/${NS}/pods/live`, [200], {
      query: { gracePeriodSeconds: 0 },
    });
    await eventually(() => events.some(([t, n]) => t === 'delete' && n === 'live'));
    expect(informer.get(`${NS}/live`)).toBeUndefined();
  });

  it('recovers after every connection is cut and after the API server is unreachable for a while', async () => {
    proxy.cut();
    await createPod('after-cut');
    await eventually(() => informer.get(`${NS}/after-cut`), 10_000, 'event after cut');

    const errorsBefore = errors.length;
    await proxy.close();
    await direct.expect('DELETE', `/api/v1/namespaces/${NS}/pods/pre-0`, [200], {
      query: { gracePeriodSeconds: 0 },
    });
    await createPod('while-down');
    await eventually(() => errors.length > errorsBefore, 10_000, 'an error reported');
    const port = proxy.port;
    const server = new URL(direct.server);
    proxy = new Proxy({ host: server.hostname, port: Number(server.port) });
    await proxy.listen(port);
    // Both changes made while it was cut off arrive (watch resumes from its resourceVersion, or relists).
    await eventually(
      () => informer.get(`${NS}/while-down`) && !informer.get(`${NS}/pre-0`),
      20_000,
      'catch-up',
    );
  });

  it('the watchdog reports a silent stream and restarts it', async () => {
    proxy.frozen = true;
    await eventually(() => informer.health() !== true, 10_000, 'stale');
    expect(String(informer.health())).toMatch(/heard nothing/);
    proxy.frozen = false;
    proxy.cut();
    await createPod('after-freeze');
    await eventually(() => informer.get(`${NS}/after-freeze`), 20_000, 'event after freeze');
    await eventually(() => informer.health() === true, 5_000, 'healthy again');
  });
});
