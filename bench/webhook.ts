#!/usr/bin/env node
/**
 * Webhook admission latency through the real kube-apiserver (method in bench/README.md): the same
 * dry-run creates of opt-in pods at a fixed rate, with the MutatingWebhookConfiguration registered and
 * without it; the difference is what the webhook adds.
 *
 *   npm run bench:webhook [-- --rate 500 --seconds 20 --in-process]
 *
 * The webhook server runs in a process of its own (as it does in the operator), unless --in-process:
 * then it shares this process's event loop with the client sending the creates (the method until
 * 2026-12-07).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SecureKey } from '../core/api/securekey.generated.ts';
import { agentSettings } from '../core/inject/index.ts';
import { KubeHttp } from '../edge/kube/kube-http.ts';
import { secureKeyPath } from '../edge/kube/secure-keys.ts';
import { Registry } from '../operator/observability/metrics.ts';
import { planWebhookTls } from '../operator/webhook/certificates.ts';
import { startWebhookServer } from '../operator/webhook/server.ts';
import { applyCrds } from '../scripts/cluster/crds.ts';
import { startControlPlane } from '../scripts/cluster/control-plane.ts';
import { repoRoot } from '../scripts/cluster/paths.ts';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '100' },
    // Reviews a second sent straight to the webhook (no API server), after the API-server phases.
    'direct-rate': { type: 'string', default: '500' },
    seconds: { type: 'string', default: '20' },
    'in-process': { type: 'boolean', default: false },
    // Internal: run only the webhook server (the child of a run), configured through BENCH_WEBHOOK.
    serve: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RATE = Number(args.rate);
const DIRECT_RATE = Number(args['direct-rate']);
const SECONDS = Number(args.seconds);
const NS = 'bench-webhook';
const HOOK = 'securekey-bench';
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** The webhook server with the bench's SecureKey resolved from memory, as the operator's cache does. */
async function serve(sk: SecureKey, tls: { certPem: string; keyPem: string }) {
  const registry = new Registry();
  const latency = registry.histogram({
    name: 'securekey_webhook_admission_duration_seconds',
    help: 'Admission time inside the webhook.',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025],
  });
  const server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    latency,
    context: {
      settings: agentSettings({ image: 'securekey/agent:bench', clientId: 'c', tenantId: 't' }),
      excludedNamespaces: new Set(['kube-system']),
      resolve: async () => sk, // the operator resolves from its informer cache: no API call per admission
    },
  });
  return { url: server.url, render: () => registry.render(), close: () => server.close() };
}

if (args.serve) {
  // Child: serve, print the URL, and on stdin's end print the metrics and exit.
  const { sk, tls } = JSON.parse(process.env['BENCH_WEBHOOK'] ?? '{}');
  const server = await serve(sk, tls);
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.stdin.resume().on('end', () => {
    process.stdout.write(`${JSON.stringify({ metrics: server.render() })}\n`);
    void server.close().then(() => process.exit(0));
  });
  await new Promise(() => {});
}

const plane = await startControlPlane();
const http = KubeHttp.fromFile(plane.kubeconfigPath);
await applyCrds(http);
await http.expect('POST', '/api/v1/namespaces', [201], { body: { metadata: { name: NS } } });
await http.expect('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, [201], {
  body: { metadata: { name: 'default' } },
});
await http.expect('POST', secureKeyPath(NS), [201], {
  body: {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { name: 'db-key' },
    spec: {
      vault: { url: 'https://contoso.managedhsm.azure.net' },
      key: { name: 'db', type: 'oct-HSM', size: 256 },
      attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
      workloads: {},
    },
  },
});
const sk = await http.expect<SecureKey>('GET', secureKeyPath(NS, 'db-key'), [200]);

const { tls } = planWebhookTls(undefined, ['127.0.0.1'], new Date());
const server: { url: string; render: () => Promise<string>; close: () => Promise<void> } =
  await (async () => {
    if (args['in-process']) {
      const s = await serve(sk, tls);
      return { url: s.url, render: async () => s.render(), close: s.close };
    }
    const child = spawn(process.execPath, [process.argv[1]!, '--serve'], {
      env: { ...process.env, BENCH_WEBHOOK: JSON.stringify({ sk, tls }) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    const { url } = JSON.parse(String(first.value)) as { url: string };
    return {
      url,
      render: async () => {
        child.stdin!.end();
        const next = await lines.next();
        return (JSON.parse(String(next.value)) as { metrics: string }).metrics;
      },
      close: () => new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r()))),
    };
  })();

function podBody(i: number) {
  return {
    metadata: {
      name: `p-${i}`,
      labels: { 'securekey.io/inject': 'true', app: 'db' },
      annotations: { 'securekey.io/key-db': 'db-key', 'securekey.io/format-db': 'pem' },
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'example.invalid/app:1',
          env: Array.from({ length: 20 }, (_, j) => ({ name: `E${j}`, value: 'x'.repeat(50) })),
        },
        { name: 'sidecar', image: 'example.invalid/sidecar:1' },
      ],
    },
  };
}

async function load(
  label: string,
): Promise<{ p50: number; p99: number; max: number; n: number; mutated: number }> {
  const latencies: number[] = [];
  let mutated = 0;
  const start = performance.now();
  const total = RATE * SECONDS;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(
      (async () => {
        const t = performance.now();
        const r = await http.request<{ spec?: { initContainers?: unknown[] } }>(
          'POST',
          `/api/v1/namespaces/${NS}/pods`,
          {
            query: { dryRun: 'All' },
            body: podBody(i),
          },
        );
        latencies.push(performance.now() - t);
        if (r.status !== 201) throw new Error(`${label}: HTTP ${r.status}`);
        if (r.body.spec?.initContainers?.length) mutated += 1;
      })(),
    );
  }
  await Promise.all(inflight);
  latencies.sort((a, b) => a - b);
  return {
    n: latencies.length,
    mutated,
    p50: +percentile(latencies, 50).toFixed(2),
    p99: +percentile(latencies, 99).toFixed(2),
    max: +(latencies.at(-1) ?? NaN).toFixed(2),
  };
}

const hookBody = {
  metadata: { name: HOOK },
  webhooks: [
    {
      name: 'inject.securekey.io',
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: 'Fail',
      clientConfig: {
        url: `${server.url}/mutate`,
        caBundle: Buffer.from(tls.caBundlePem).toString('base64'),
      },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      objectSelector: { matchLabels: { 'securekey.io/inject': 'true' } },
    },
  ],
};

say(`baseline: ${RATE} dry-run pod creates/s for ${SECONDS} s without the webhook`);
await load('warm-up');
const without = await load('without');
await http.expect('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', [201], {
  body: hookBody,
});
for (;;) {
  const r = await http.request<{ spec?: { initContainers?: unknown[] } }>(
    'POST',
    `/api/v1/namespaces/${NS}/pods`,
    {
      query: { dryRun: 'All' },
      body: podBody(-1),
    },
  );
  if (r.body.spec?.initContainers?.length) break;
  await sleep(100);
}
say('with the webhook registered');
await load('warm-up');
const withHook = await load('with');

/** AdmissionReviews straight to the webhook at DIRECT_RATE, over keep-alive TLS as the API server calls it. */
async function direct(
  label: string,
): Promise<{ p50: number; p99: number; max: number; n: number; failed: number }> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 32, ca: tls.caBundlePem });
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < DIRECT_RATE * SECONDS; i++) {
    const wait = start + (i * 1000) / DIRECT_RATE - performance.now();
    if (wait > 0) await sleep(wait);
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `${label}-${i}`,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: NS,
        operation: 'CREATE',
        object: { ...podBody(i), metadata: { ...podBody(i).metadata, namespace: NS } },
      },
    });
    const t = performance.now();
    inflight.push(
      new Promise<void>((resolve) => {
        const req = https.request(
          `${server.url}/mutate`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const ok = res.statusCode === 200 && Buffer.concat(chunks).includes('"patch"');
              if (ok) latencies.push(performance.now() - t);
              else failed += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          failed += 1;
          resolve();
        });
        req.end(body);
      }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    n: latencies.length,
    failed,
    p50: +percentile(latencies, 50).toFixed(2),
    p99: +percentile(latencies, 99).toFixed(2),
    max: +(latencies.at(-1) ?? NaN).toFixed(2),
  };
}
say(`straight to the webhook: ${DIRECT_RATE} reviews/s for ${SECONDS} s`);
await direct('warm-up');
const straight = await direct('direct');
const inside = await server.render();

const result = {
  date: new Date().toISOString(),
  node: process.version,
  ratePerSecond: RATE,
  seconds: SECONDS,
  webhookProcess: args['in-process'] ? 'the client’s' : 'its own',
  load: (await import('node:os')).loadavg().map((l) => +l.toFixed(2)),
  withoutWebhookMs: without,
  withWebhookMs: withHook,
  directRatePerSecond: DIRECT_RATE,
  directToWebhookMs: straight,
  addedMs: { p50: +(withHook.p50 - without.p50).toFixed(2), p99: +(withHook.p99 - without.p99).toFixed(2) },
  insideWebhook: (() => {
    const get = (what: string) =>
      Number(
        new RegExp(
          `^securekey_webhook_admission_duration_seconds_${what}\\{outcome="mutated"\\} (\\S+)$`,
          'm',
        ).exec(inside)?.[1],
      );
    return { mutated: get('count'), meanMs: +((get('sum') / get('count')) * 1000).toFixed(3) };
  })(),
};
say(JSON.stringify(result, null, 2));
const out = args.out ?? path.join(repoRoot, 'bench/results/webhook-latest.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
await server.close();
http.close();
await plane.stop();
