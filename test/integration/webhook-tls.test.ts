import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { splitPemCertificates } from '../../core/x509/index.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { silentLogger } from '../../edge/log/log.ts';
import { Registry } from '../../operator/observability/metrics.ts';
import { runWebhook, TLS_CHECK_MS } from '../../operator/webhook/run-webhook.ts';
import { ensureTlsSecret, readTlsSecret, syncCaBundle } from '../../operator/webhook/tls-manager.ts';
import { clusterEventually } from '../../scripts/cluster/eventually.ts';

const NS = 'webhook-tls';
const REF = { namespace: NS, name: 'securekey-webhook-tls' };
const DNS = ['securekey-webhook.webhook-tls.svc', 'securekey-webhook.webhook-tls.svc.cluster.local'];
const HOOK = 'securekey-tls-test';
const DAY = 86_400_000;

describe('webhook TLS in a Secret, caBundle in step (real API server)', () => {
  let http: KubeHttp;
  beforeAll(async () => {
    http = KubeHttp.fromFile(inject('kubeconfig'));
    await http.expect('POST', '/api/v1/namespaces', [201, 409], { body: { metadata: { name: NS } } });
    await http.expect('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', [201], {
      body: {
        metadata: { name: HOOK },
        webhooks: [
          {
            name: 'inject.securekey.io',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Ignore',
            clientConfig: { service: { namespace: NS, name: 'securekey-webhook', path: '/mutate' } },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
            objectSelector: { matchLabels: { 'securekey.io/never': 'matches' } },
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await http?.request(
      'DELETE',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${HOOK}`,
    );
    http?.close();
  });

  it('two replicas starting together end up with one Secret; the leader puts its CA in caBundle', async () => {
    const [a, b] = await Promise.all([ensureTlsSecret(http, REF, DNS), ensureTlsSecret(http, REF, DNS)]);
    expect(a.tls.certPem).toBe(b.tls.certPem);
    const stored = await readTlsSecret(http, REF);
    expect(stored.tls?.certPem).toBe(a.tls.certPem);
    const cert = new X509Certificate(a.tls.certPem);
    expect(cert.subjectAltName).toBe(`DNS:${DNS[0]}, DNS:${DNS[1]}`);
    expect(cert.verify(new X509Certificate(a.tls.caCertPem).publicKey)).toBe(true);

    expect(await syncCaBundle(http, HOOK, a.tls.caBundlePem)).toBe(true);
    expect(await syncCaBundle(http, HOOK, a.tls.caBundlePem)).toBe(false);
    const hook = await http.expect<{ webhooks: Array<{ clientConfig: { caBundle: string } }> }>(
      'GET',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${HOOK}`,
      [200],
    );
    expect(Buffer.from(hook.webhooks[0]!.clientConfig.caBundle, 'base64').toString()).toBe(a.tls.caBundlePem);
  });

  it('changes nothing while valid; renews the serving certificate 30 days before expiry under the same CA', async () => {
    const before = (await readTlsSecret(http, REF)).tls!;
    expect((await ensureTlsSecret(http, REF, DNS)).changed).toBe(false);
    const later = new Date(Date.now() + 340 * DAY);
    const renewed = await ensureTlsSecret(http, REF, DNS, { now: later });
    expect(renewed).toMatchObject({ changed: true, reason: 'serving certificate renewed' });
    expect(renewed.tls.caCertPem).toBe(before.caCertPem);
    expect(renewed.tls.certPem).not.toBe(before.certPem);
    // A non-leader only reads.
    expect(
      (await ensureTlsSecret(http, REF, DNS, { rotate: false, now: new Date(Date.now() + 9 * 365 * DAY) }))
        .changed,
    ).toBe(false);
  });

  it('rotates the CA a year before it expires and keeps the old CA in the bundle while it is valid', async () => {
    const before = (await readTlsSecret(http, REF)).tls!;
    const rotated = await ensureTlsSecret(http, REF, DNS, { now: new Date(Date.now() + 9.2 * 365 * DAY) });
    expect(rotated.reason).toBe('CA rotated');
    expect(rotated.tls.caCertPem).not.toBe(before.caCertPem);
    const bundle = splitPemCertificates(rotated.tls.caBundlePem).map(
      (d) => new X509Certificate(d).fingerprint256,
    );
    expect(bundle).toEqual([
      new X509Certificate(rotated.tls.caCertPem).fingerprint256,
      new X509Certificate(before.caCertPem).fingerprint256,
    ]);
  });

  it('recreates a deleted Secret and resyncs caBundle and the served certificate within seconds', async () => {
    const ref = { namespace: NS, name: 'securekey-webhook-tls-deleted' };
    const webhook = await runWebhook({
      config: {
        host: '127.0.0.1',
        port: 0,
        secretName: ref.name,
        serviceName: 'securekey-webhook',
        configurationName: HOOK,
        agent: { image: 'securekey/agent:test' },
      },
      namespace: NS,
      http,
      registry: new Registry(),
      cached: () => undefined,
      log: silentLogger,
    });
    const leading = new AbortController();
    const lead = webhook.lead(leading.signal);
    try {
      const caBundle = async () => {
        const hook = await http.expect<{ webhooks: Array<{ clientConfig: { caBundle?: string } }> }>(
          'GET',
          `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${HOOK}`,
          [200],
        );
        return Buffer.from(hook.webhooks[0]!.clientConfig.caBundle ?? '', 'base64').toString();
      };
      const served = () =>
        new Promise<string>((resolve, reject) => {
          const { port } = new URL(webhook.url);
          const socket = tls.connect(
            { host: '127.0.0.1', port: Number(port), rejectUnauthorized: false },
            () => {
              resolve(socket.getPeerX509Certificate()!.fingerprint256);
              socket.end();
            },
          );
          socket.on('error', reject);
        });
      const inStep = async () => {
        const stored = (await readTlsSecret(http, ref)).tls;
        return (
          stored !== undefined &&
          (await caBundle()) === stored.caBundlePem &&
          (await served()) === new X509Certificate(stored.certPem).fingerprint256 &&
          stored
        );
      };
      const before = await clusterEventually(inStep, 15_000, 'the first Secret in caBundle');

      await http.expect('DELETE', `/api/v1/namespaces/${NS}/secrets/${ref.name}`, [200]);
      const deleted = Date.now();
      const after = await clusterEventually(
        async () => {
          const now = await inStep();
          return now && now.caCertPem !== before.caCertPem && now;
        },
        15_000,
        'a new Secret, its CA in caBundle and its certificate served',
      );
      // One check to notice, one write, the replica's reload: well within three check periods.
      expect(Date.now() - deleted).toBeLessThan(3 * TLS_CHECK_MS);
      expect(new X509Certificate(after.certPem).verify(new X509Certificate(after.caCertPem).publicKey)).toBe(
        true,
      );
    } finally {
      leading.abort();
      await lead;
      await webhook.close();
    }
  }, 30_000);
});
