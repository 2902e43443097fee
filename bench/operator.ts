#!/usr/bin/env node
/**
 * Operator benchmark (method in bench/README.md). Real etcd + kube-apiserver, the sandbox's simulated
 * Managed HSM in this process (so the moment a policy lands is observed exactly), and the operator as
 * its own process (`node operator/main.ts`), so its memory is its own.
 *
 *   npm run bench:operator [-- --sks 100 --pods 1000 --rate 50 --scale-pods 10000 --steady 60]
 *   npm run bench:operator -- --sks 1000 --policy-bytes 65536 --background-pods 9000 --resync 600 --steady 0
 *   npm run bench:operator -- --hostile-pods 500 --pods 0 --scale-pods 0 --steady 0
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APPROVAL_ANNOTATION, signApproval } from '../core/approval/index.ts';
import { POLICY_ANNOTATIONS, policyDigest } from '../core/digest/index.ts';
import { AGENT_CONTAINER, KEY_ANNOTATION_PREFIX } from '../core/inject/annotations.ts';
import { CONFIDENTIAL_RUNTIME_CLASSES } from '../core/workload/index.ts';
import { digestsOf, parsePolicyJson } from '../core/policy/index.ts';
import { KubeHttp } from '../edge/kube/kube-http.ts';
import { secureKeyPath } from '../edge/kube/secure-keys.ts';
import https from 'node:https';
import { startSandbox } from '../sim/sandbox/sandbox.ts';
import { applyCrds } from '../scripts/cluster/crds.ts';
import { startControlPlane } from '../scripts/cluster/control-plane.ts';
import { repoRoot } from '../scripts/cluster/paths.ts';

const { values: args } = parseArgs({
  options: {
    sks: { type: 'string', default: '100' },
    pods: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '50' },
    'policy-bytes': { type: 'string', default: '16384' },
    'scale-pods': { type: 'string', default: '10000' },
    'scale-policy-bytes': { type: 'string', default: '8192' },
    steady: { type: 'string', default: '60' },
    // How often the operator re-verifies each key (the default in production is 10 min).
    resync: { type: 'string', default: '2' },
    // Opt-in pods (shared policies of --scale-policy-bytes) created before the latency phase.
    'background-pods': { type: 'string', default: '0' },
    // Opt-in pods in a namespace that holds no SecureKey: the operator should never cache them.
    'other-pods': { type: 'string', default: '0' },
    // Opt-in pods selected by no key, with policies of --hostile-bytes, created before the operator starts.
    'hostile-pods': { type: 'string', default: '0' },
    'hostile-bytes': { type: 'string', default: String(250 * 1024) },
    // Watch one namespace (SECUREKEY_NAMESPACE), as before pod caches followed SecureKeys.
    'one-namespace': { type: 'boolean', default: false },
    // Another operator entry (e.g. an older tree's operator/main.ts), for before/after under one harness.
    main: { type: 'string' },
    out: { type: 'string' },
    // The chart's runtime flags (charts/securekey/values.yaml, ADR 12); pass '' for Node's defaults.
    'node-options': { type: 'string', default: '--max-semi-space-size=2 --max-old-space-size=160' },
  },
});
const SKS = Number(args.sks);
const PODS = Number(args.pods);
const RATE = Number(args.rate);
const POLICY_BYTES = Number(args['policy-bytes']);
const SCALE_PODS = Number(args['scale-pods']);
const SCALE_POLICY_BYTES = Number(args['scale-policy-bytes']);
const STEADY_S = Number(args.steady);
const RESYNC_S = Number(args.resync);
const BACKGROUND = Number(args['background-pods']);
const OTHER = Number(args['other-pods']);
const HOSTILE = Number(args['hostile-pods']);
const HOSTILE_BYTES = Number(args['hostile-bytes']);
const NS = 'bench';
const OTHER_NS = 'bench-other';
const ANNOTATION = POLICY_ANNOTATIONS['kata-agent-policy'];

const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Rego-like policy of `bytes` bytes, unique per seed: what genpolicy writes, in size. */
function policyOf(seed: string, bytes: number): { annotation: string; digest: string } {
  let text = `package agent_policy\n# ${seed}\n`;
  const filler = 'default allow_exec := false # padding to a realistic policy size\n';
  while (text.length < bytes) text += filler;
  const buf = Buffer.from(text.slice(0, bytes));
  return { annotation: buf.toString('base64'), digest: createHash('sha256').update(buf).digest('hex') };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const started = Date.now();
const plane = await startControlPlane();
const http = KubeHttp.fromFile(plane.kubeconfigPath);
await applyCrds(http);
// The RuntimeClass admission plugin refuses pods naming a class that does not exist.
await http.expect('POST', '/apis/node.k8s.io/v1/runtimeclasses', [201], {
  body: { metadata: { name: CONFIDENTIAL_RUNTIME_CLASSES[0] }, handler: 'kata-cc' },
});
for (const ns of [NS, OTHER_NS]) {
  await http.expect('POST', '/api/v1/namespaces', [201], { body: { metadata: { name: ns } } });
  await http.expect('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, [201], {
    body: { metadata: { name: 'default' } },
  });
}

// Where each key's policy stands, updated the moment the vault answers a create or update.
const admittedAt = new Map<string, number>(); // `${key}/${digest}` → ms
// While the latency phase runs: when the vault answered each key's reads (the reconcile's first call).
const readsAt = new Map<string, number[]>();
const trace = { reads: false };
const created = new Set<string>();
const ref: { sandbox?: Awaited<ReturnType<typeof startSandbox>> } = {};
const writes = { count: 0 };
const dir = mkdtempSync(path.join(tmpdir(), 'securekey-bench-'));
const sandbox = await startSandbox({
  dir,
  log: (e) => {
    const op = e['operation'];
    if (trace.reads && op === 'getKey') {
      const name = String(e['path']).split('/')[2] ?? '';
      const list = readsAt.get(name) ?? [];
      list.push(performance.now());
      readsAt.set(name, list);
    }
    if ((op !== 'createKey' && op !== 'updateKey') || e['status'] !== 200) return;
    writes.count += 1;
    const name = String(e['path']).split('/')[2] ?? '';
    const at = performance.now();
    if (op === 'createKey') created.add(name);
    // This key's bundle only: a snapshot of the whole vault per write made the simulator slower with
    // every key (1,000 keys: tens of ms per write, all of it in the vault's answers).
    let bundle: { release_policy?: { data?: string } } | undefined;
    try {
      bundle = ref.sandbox?.vault.service.getKey(name) as typeof bundle;
    } catch {
      return;
    }
    const data = bundle?.release_policy?.data;
    if (data === undefined) return;
    const json = Buffer.from(data, 'base64url').toString('utf8');
    for (const d of digestsOf(parsePolicyJson(json)).digests) {
      if (!admittedAt.has(`${name}/${d}`)) admittedAt.set(`${name}/${d}`, at);
    }
  },
});
ref.sandbox = sandbox;

function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}
const opsPort = await freePort();
const opsUrl = `http://127.0.0.1:${opsPort}`;

/** The approver every measured SecureKey lists, so pods reach the vault as under approval Signed (ADR 24). */
const approver = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const APPROVERS = [{ name: 'bench', publicKey: approver.publicKey.export({ format: 'jwk' }) }];

/** The approval CI would have signed for a pod asking for SecureKey `app` with this policy. */
function approvalFor(app: string, annotation: string, namespace: string): Promise<string> {
  return signApproval(
    {
      namespace,
      secureKeys: [app],
      scheme: 'kata-agent-policy',
      digest: policyDigest('kata-agent-policy', { [ANNOTATION]: annotation }).digest,
      iat: Math.floor(Date.now() / 1000) - 60,
    },
    approver.privateKey.export({ format: 'jwk' }),
  );
}

async function createPod(
  name: string,
  app: string,
  annotation: string,
  namespace = NS,
  client: KubeHttp = http,
): Promise<void> {
  // Pods no key selects (hostile, background) carry no approval: nobody approved them.
  const approved = app.startsWith('sk-')
    ? { [APPROVAL_ANNOTATION]: await approvalFor(app, annotation, namespace) }
    : {};
  await client.expect('POST', `/api/v1/namespaces/${namespace}/pods`, [201], {
    body: {
      // What lends a digest (ADR 23): scheduled, a confidential runtime class, the agent, naming the key.
      metadata: {
        name,
        labels: { 'securekey.io/inject': 'true', app },
        annotations: { [ANNOTATION]: annotation, [`${KEY_ANNOTATION_PREFIX}key`]: app, ...approved },
      },
      spec: {
        nodeName: 'node-1',
        runtimeClassName: CONFIDENTIAL_RUNTIME_CLASSES[0],
        initContainers: [{ name: AGENT_CONTAINER, image: 'example.invalid/agent:1' }],
        containers: [{ name: 'app', image: 'example.invalid/app:1' }],
        automountServiceAccountToken: false,
      },
    },
  });
}

/** `count` pods from `make(i)`, `parallel` creates at a time. */
async function createPods(
  count: number,
  parallel: number,
  make: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < count; i = next++) await make(i);
    }),
  );
}

// 0. Hostile pods: large policies on pods no key selects, there before the operator lists.
if (HOSTILE > 0) {
  say(`creating ${HOSTILE} opt-in pods with ${HOSTILE_BYTES}-byte policies that no key selects`);
  await createPods(HOSTILE, 4, (i) =>
    createPod(`hostile-${i}`, 'nobody', policyOf(`hostile-${i}`, HOSTILE_BYTES * 0.75).annotation),
  );
  // A SecureKey that selects none of them, so their namespace is one the operator lists at start.
  await http.expect('POST', secureKeyPath(NS), [201], {
    body: {
      apiVersion: 'securekey.io/v1alpha1',
      kind: 'SecureKey',
      metadata: { name: 'guard' },
      spec: {
        vault: { url: sandbox.vault.url, type: 'ManagedHSM' },
        key: { name: 'guard', type: 'oct-HSM', size: 256 },
        attestation: { authorities: [sandbox.maa.url] },
        workloads: { podSelector: { matchLabels: { app: 'guarded' } } },
      },
    },
  });
}
const webhookPort = HOSTILE > 0 ? await freePort() : 0;
const operator = spawn(process.execPath, [args.main ?? path.join(repoRoot, 'operator/main.ts')], {
  env: {
    PATH: process.env['PATH'] ?? '',
    KUBECONFIG: plane.kubeconfigPath,
    ...sandbox.env('operator'),
    ...(args['one-namespace'] ? { SECUREKEY_NAMESPACE: NS } : {}),
    POD_NAMESPACE: NS,
    SECUREKEY_LEADER_ELECTION: 'false',
    ...(HOSTILE > 0
      ? {
          SECUREKEY_WEBHOOK: 'true',
          SECUREKEY_WEBHOOK_ADDR: `127.0.0.1:${webhookPort}`,
          SECUREKEY_AGENT_IMAGE: 'securekey/agent:bench',
        }
      : {}),
    SECUREKEY_METRICS_ADDR: `127.0.0.1:${opsPort}`,
    SECUREKEY_RESYNC: `${RESYNC_S}s`,
    SECUREKEY_LOG_LEVEL: 'warn',
    ...(args['node-options'] ? { NODE_OPTIONS: args['node-options'] } : {}),
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
let operatorLog = '';
operator.stderr!.on('data', (c: Buffer) => (operatorLog = (operatorLog + c.toString()).slice(-4000)));
operator.on('exit', (code) => {
  if (code !== 0 && code !== null) {
    process.stderr.write(`operator exited ${code}: ${operatorLog}\n`);
    process.exit(1);
  }
});
const operatorStarted = performance.now();
let peakRss = 0;
const sampleEveryMs = HOSTILE > 0 ? 50 : 500;
const sampler = setInterval(() => {
  metric('process_resident_memory_bytes')
    .then((v) => (peakRss = Math.max(peakRss, v)))
    .catch(() => {});
}, sampleEveryMs);

/** Admission reviews straight to the operator's webhook while it lists the hostile pods. */
const reviews = { sent: 0, answered: 0, failed: 0, latencies: [] as number[] };
function review(i: number): Promise<void> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: NS,
      operation: 'CREATE',
      object: {
        metadata: { name: `r-${i}`, namespace: NS, labels: { 'securekey.io/inject': 'true' } },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
    },
  });
  reviews.sent += 1;
  const t = performance.now();
  return new Promise<void>((resolve) => {
    const req = https.request(
      `https://127.0.0.1:${webhookPort}/mutate`,
      {
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        res.resume().on('end', () => {
          if (res.statusCode === 200) {
            reviews.answered += 1;
            reviews.latencies.push(performance.now() - t);
          } else reviews.failed += 1;
          resolve();
        });
      },
    );
    req.on('error', () => {
      reviews.failed += 1;
      resolve();
    });
    req.end(body);
  });
}
let reviewer: NodeJS.Timeout | undefined;
const reviewsInFlight: Promise<void>[] = [];
let readyMs: number | undefined;
if (HOSTILE > 0) {
  // 20 reviews a second from the moment the webhook listens, through the operator's first list.
  void (async () => {
    while (readyMs === undefined || performance.now() - operatorStarted < readyMs + 5000) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(webhookPort, '127.0.0.1', () => (s.end(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (up) {
        let i = 0;
        reviewer = setInterval(() => reviewsInFlight.push(review(i++)), 50);
        return;
      }
      await sleep(20);
    }
  })();
}
const readyDeadline = performance.now() + 120_000;
while (performance.now() < readyDeadline) {
  const ok = await fetch(`${opsUrl}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) {
    readyMs = performance.now() - operatorStarted;
    break;
  }
  await sleep(50);
}
if (readyMs === undefined) say('the operator did not become ready within 120 s');
if (HOSTILE > 0) {
  await sleep(5000);
  clearInterval(reviewer);
  await Promise.all(reviewsInFlight);
}
const hostile =
  HOSTILE > 0
    ? {
        pods: HOSTILE,
        policyBytes: HOSTILE_BYTES,
        operatorReadyMs: readyMs === undefined ? null : Math.round(readyMs),
        peakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
        chartMemoryLimitMiB: 256,
        webhookReviews: {
          sent: reviews.sent,
          answered: reviews.answered,
          failed: reviews.failed,
          ...summary(reviews.latencies.sort((a, b) => a - b)),
        },
      }
    : undefined;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
}

function summary(sorted: number[]): { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number } {
  return {
    p50Ms: +percentile(sorted, 50).toFixed(1),
    p90Ms: +percentile(sorted, 90).toFixed(1),
    p99Ms: +percentile(sorted, 99).toFixed(1),
    maxMs: +(sorted.at(-1) ?? NaN).toFixed(1),
  };
}

/** Sum and count of a histogram in the operator's /metrics, per label set. */
async function histogram(name: string): Promise<Record<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const out: Record<string, { sum: number; count: number }> = {};
  for (const m of text.matchAll(new RegExp(`^${name}_(sum|count)(\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))) {
    const labels = m[2] ?? '{}';
    out[labels] ??= { sum: 0, count: 0 };
    out[labels][m[1] as 'sum' | 'count'] = Number(m[3]);
  }
  return out;
}

function meanMsBetween(
  before: Record<string, { sum: number; count: number }>,
  after: Record<string, { sum: number; count: number }>,
): Record<string, { calls: number; meanMs: number }> {
  const out: Record<string, { calls: number; meanMs: number }> = {};
  for (const [labels, a] of Object.entries(after)) {
    const b = before[labels] ?? { sum: 0, count: 0 };
    const calls = a.count - b.count;
    if (calls > 0) out[labels] = { calls, meanMs: +(((a.sum - b.sum) / calls) * 1000).toFixed(2) };
  }
  return out;
}

// 1. SecureKeys.
say(`control plane and sandbox up in ${Date.now() - started} ms; creating ${SKS} SecureKeys`);
await createPods(SKS, 8, async (i) => {
  await http.expect('POST', secureKeyPath(NS), [201], {
    body: {
      apiVersion: 'securekey.io/v1alpha1',
      kind: 'SecureKey',
      metadata: { name: `sk-${i}` },
      spec: {
        vault: { url: sandbox.vault.url, type: 'ManagedHSM' },
        key: { name: `sk-${i}`, type: 'oct-HSM', size: 256 },
        attestation: { authorities: [sandbox.maa.url] },
        workloads: { podSelector: { matchLabels: { app: `sk-${i}` } }, approvers: APPROVERS },
      },
    },
  });
});
const keysDeadline = performance.now() + 300_000;
while (created.size < SKS + (HOSTILE > 0 ? 1 : 0) && performance.now() < keysDeadline) await sleep(100);
if (created.size < SKS + (HOSTILE > 0 ? 1 : 0)) say(`only ${created.size} of ${SKS} keys were created`);
await sleep(1000);

// Pods of one key share 10 policies, as Deployments do.
const shared = Array.from({ length: SKS * 10 }, (_, j) => policyOf(`shared-${j}`, SCALE_POLICY_BYTES));
const used = new Set<number>(); // indices into `shared` that some pod carries
const scalePod = (i: number) => {
  const k = i % SKS;
  const j = k * 10 + (Math.floor(i / SKS) % 10);
  used.add(j);
  return createPod(`scale-${i}`, `sk-${k}`, shared[j]!.annotation);
};
const allShared = () =>
  [...used].every((j) => admittedAt.has(`sk-${Math.floor(j / 10)}/${shared[j]!.digest}`));
if (OTHER > 0) {
  say(`creating ${OTHER} opt-in pods in ${OTHER_NS}, which holds no SecureKey`);
  await createPods(OTHER, 16, (i) =>
    createPod(`other-${i}`, 'sk-0', shared[i % shared.length]!.annotation, OTHER_NS),
  );
}
if (BACKGROUND > 0) {
  say(`creating ${BACKGROUND} background opt-in pods (policies of ${SCALE_POLICY_BYTES} bytes)`);
  await createPods(BACKGROUND, 16, (i) => scalePod(PODS + i));
  const until = performance.now() + 300_000;
  while (performance.now() < until && !allShared()) await sleep(200);
  await sleep(3000);
}

// 2. Latency: PODS pods, each with its own policy, paced at RATE per second, spread over the keys.
say(`creating ${PODS} opt-in pods at ${RATE}/s (policies of ${POLICY_BYTES} bytes)`);
const pending: Array<{ key: string; name: string; digest: string; at: number }> = [];
// When this process's own watch saw each pod (the API server's fan-out, as the operator's informer gets it).
const seenAt = new Map<string, number>();
const watchStop = new AbortController();
const watching = http
  .watch(`/api/v1/namespaces/${NS}/pods`, {
    query: { resourceVersion: '0', labelSelector: 'securekey.io/inject=true' },
    signal: watchStop.signal,
    onEvent: (e) => {
      const name = (e.object['metadata'] as { name?: string } | undefined)?.name ?? '';
      if (e.type === 'ADDED' && name.startsWith('lat-')) seenAt.set(name, performance.now());
    },
  })
  .catch(() => {});
const reconcileBefore = await histogram('securekey_reconcile_duration_seconds');
const vaultBefore = await histogram('securekey_vault_request_duration_seconds');
trace.reads = true;
const t0 = performance.now();
for (let i = 0; i < PODS; i++) {
  const target = t0 + (i * 1000) / RATE;
  const wait = target - performance.now();
  if (wait > 0) await sleep(wait);
  const key = `sk-${i % SKS}`;
  const p = policyOf(`pod-${i}`, POLICY_BYTES);
  const at = performance.now();
  await createPod(`lat-${i}`, key, p.annotation);
  pending.push({ key, name: `lat-${i}`, digest: p.digest, at });
}
const deadline = performance.now() + 60_000;
while (pending.some((p) => !admittedAt.has(`${p.key}/${p.digest}`)) && performance.now() < deadline)
  await sleep(50);
const latencies = pending
  .map((p) => (admittedAt.get(`${p.key}/${p.digest}`) ?? NaN) - p.at)
  .filter((x) => !Number.isNaN(x))
  .sort((a, b) => a - b);
const missing = pending.length - latencies.length;
trace.reads = false;
watchStop.abort();
await watching;
const reconcileAfter = await histogram('securekey_reconcile_duration_seconds');
const vaultAfter = await histogram('securekey_vault_request_duration_seconds');
// Where each pod's time went: API server → watch, watch → the vault read that began its reconcile,
// that read → the write that admitted its digest.
const apiToWatch: number[] = [];
const watchToRead: number[] = [];
const readToWrite: number[] = [];
for (const p of pending) {
  const admitted = admittedAt.get(`${p.key}/${p.digest}`);
  const seen = seenAt.get(p.name);
  if (admitted === undefined || seen === undefined) continue;
  const read = (readsAt.get(p.key) ?? []).filter((t) => t <= admitted).at(-1);
  apiToWatch.push(seen - p.at);
  if (read !== undefined && read >= seen) {
    watchToRead.push(read - seen);
    readToWrite.push(admitted - read);
  }
}
const sortNum = (a: number[]) => a.sort((x, y) => x - y);
const breakdown = {
  apiToWatch: summary(sortNum(apiToWatch)),
  watchToVaultRead: summary(sortNum(watchToRead)),
  vaultReadToWrite: summary(sortNum(readToWrite)),
  operatorReconcile: meanMsBetween(reconcileBefore, reconcileAfter),
  operatorVaultCalls: meanMsBetween(vaultBefore, vaultAfter),
};

// 3. Steady state: nothing changes; count vault writes across many resyncs.
await sleep(3000);
const writesBefore = writes.count;
const getsBefore = sandbox.vault.stats.count('getKey');
say(`steady state for ${STEADY_S} s with a ${RESYNC_S} s resync`);
await sleep(STEADY_S * 1000);
const steadyWrites = writes.count - writesBefore;
const steadyReads = sandbox.vault.stats.count('getKey') - getsBefore;
const resyncsPerKey = STEADY_S / RESYNC_S;
const rssAtLatency = await metric('process_resident_memory_bytes');

// 4. Scale: SCALE_PODS opt-in pods in the SecureKeys' namespace, in all.
const existing = PODS + BACKGROUND;
say(`scaling to ${SCALE_PODS} opt-in pods (policies of ${SCALE_POLICY_BYTES} bytes)`);
peakRss = 0;
if (SCALE_PODS > existing) {
  await createPods(SCALE_PODS - existing, 16, (i) => scalePod(existing + i));
}
const scaleDeadline = performance.now() + 300_000;
while (performance.now() < scaleDeadline && !allShared()) await sleep(200);
await sleep(5000);
clearInterval(sampler);
const rssAtScale = await metric('process_resident_memory_bytes');
const podsCached = await metric('securekey_pods_cached');
const heapAtScale = await metric('process_heap_bytes');
peakRss = Math.max(peakRss, rssAtScale);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  machine: `${(await import('node:os')).cpus().length} cores`,
  secureKeys: SKS,
  watch: args['one-namespace'] ? NS : 'namespaces with SecureKeys',
  nodeOptions: args['node-options'],
  operator: args.main ?? 'operator/main.ts',
  load: (await import('node:os')).loadavg().map((l) => +l.toFixed(2)),
  ...(hostile ? { hostile } : {}),
  otherNamespacePods: OTHER,
  backgroundPods: BACKGROUND,
  latency: {
    pods: PODS,
    ratePerSecond: RATE,
    policyBytes: POLICY_BYTES,
    measured: latencies.length,
    missing,
    p50Ms: Math.round(percentile(latencies, 50)),
    p90Ms: Math.round(percentile(latencies, 90)),
    p99Ms: Math.round(percentile(latencies, 99)),
    maxMs: Math.round(latencies.at(-1) ?? NaN),
    breakdown,
  },
  steadyState: {
    seconds: STEADY_S,
    resyncSeconds: RESYNC_S,
    resyncsPerSecureKey: resyncsPerKey,
    equivalentHoursAtDefaultResync: (resyncsPerKey * 10) / 60,
    vaultReads: steadyReads,
    vaultWrites: steadyWrites,
  },
  memory: {
    pods: SCALE_PODS,
    policyBytes: SCALE_POLICY_BYTES,
    rssMiBAt1000: +(rssAtLatency / 2 ** 20).toFixed(1),
    rssMiB: +(rssAtScale / 2 ** 20).toFixed(1),
    peakRssMiB: +(peakRss / 2 ** 20).toFixed(1),
    heapMiB: +(heapAtScale / 2 ** 20).toFixed(1),
    podsCached,
  },
};
say(JSON.stringify(result, null, 2));
const out = args.out ?? path.join(repoRoot, 'bench/results/operator-latest.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
say(`wrote ${out}`);

operator.kill('SIGTERM');
await new Promise((r) => operator.on('exit', r));
await sandbox.close();
http.close();
await plane.stop();
rmSync(dir, { recursive: true, force: true });
