#!/usr/bin/env node
/**
 * Operator benchmark (method in bench/README.md). Real etcd + kube-apiserver, the sandbox's simulated
 * Managed HSM in this process (so the moment a policy lands is observed exactly), and the operator as
 * its own process (`node operator/main.ts`), so its memory is its own.
 *
 *   npm run bench:operator [-- --sks 100 --pods 1000 --rate 50 --scale-pods 10000 --steady 60]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { POLICY_ANNOTATIONS } from '../core/digest/index.ts';
import { digestsOf, parsePolicyJson } from '../core/policy/index.ts';
import { KubeHttp } from '../edge/kube/kube-http.ts';
import { secureKeyPath } from '../edge/kube/secure-keys.ts';
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
    out: { type: 'string' },
    // The production runtime flags (docs/adr/0012-operator-memory.md); pass '' for Node's defaults.
    'node-options': { type: 'string', default: '--max-semi-space-size=2 --max-old-space-size=128' },
  },
});
const SKS = Number(args.sks);
const PODS = Number(args.pods);
const RATE = Number(args.rate);
const POLICY_BYTES = Number(args['policy-bytes']);
const SCALE_PODS = Number(args['scale-pods']);
const SCALE_POLICY_BYTES = Number(args['scale-policy-bytes']);
const STEADY_S = Number(args.steady);
const NS = 'bench';
const ANNOTATION = POLICY_ANNOTATIONS['kata-agent-policy'];
const RESYNC_S = 2;

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
await http.expect('POST', '/api/v1/namespaces', [201], { body: { metadata: { name: NS } } });
await http.expect('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, [201], {
  body: { metadata: { name: 'default' } },
});

// Where each key's policy stands, updated the moment the vault answers a create or update.
const admittedAt = new Map<string, number>(); // `${key}/${digest}` → ms
const ref: { sandbox?: Awaited<ReturnType<typeof startSandbox>> } = {};
const writes = { count: 0 };
const dir = mkdtempSync(path.join(tmpdir(), 'securekey-bench-'));
const sandbox = await startSandbox({
  dir,
  log: (e) => {
    const op = e['operation'];
    if ((op !== 'createKey' && op !== 'updateKey') || e['status'] !== 200) return;
    writes.count += 1;
    const name = String(e['path']).split('/')[2] ?? '';
    const at = performance.now();
    const key = ref.sandbox?.vault.service.snapshot().keys[name];
    const v = key?.versions.at(-1);
    if (!v?.releasePolicy) return;
    const json = Buffer.from(v.releasePolicy.data, 'base64url').toString('utf8');
    for (const d of digestsOf(parsePolicyJson(json)).digests) {
      if (!admittedAt.has(`${name}/${d}`)) admittedAt.set(`${name}/${d}`, at);
    }
  },
});
ref.sandbox = sandbox;

const opsPort = await new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const port = (probe.address() as net.AddressInfo).port;
    probe.close(() => resolve(port));
  });
});
const opsUrl = `http://127.0.0.1:${opsPort}`;
const operator = spawn(process.execPath, [path.join(repoRoot, 'operator/main.ts')], {
  env: {
    PATH: process.env['PATH'] ?? '',
    KUBECONFIG: plane.kubeconfigPath,
    ...sandbox.env('operator'),
    SECUREKEY_NAMESPACE: NS,
    SECUREKEY_LEADER_ELECTION: 'false',
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
for (;;) {
  const ok = await fetch(`${opsUrl}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  await sleep(100);
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
}

async function createPod(name: string, app: string, annotation: string): Promise<void> {
  await http.expect('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
    body: {
      metadata: {
        name,
        labels: { 'securekey.io/inject': 'true', app },
        annotations: { [ANNOTATION]: annotation },
      },
      spec: {
        containers: [{ name: 'app', image: 'example.invalid/app:1' }],
        automountServiceAccountToken: false,
      },
    },
  });
}

// 1. SecureKeys.
say(`control plane and sandbox up in ${Date.now() - started} ms; creating ${SKS} SecureKeys`);
for (let i = 0; i < SKS; i++) {
  await http.expect('POST', secureKeyPath(NS), [201], {
    body: {
      apiVersion: 'securekey.io/v1alpha1',
      kind: 'SecureKey',
      metadata: { name: `sk-${i}` },
      spec: {
        vault: { url: sandbox.vault.url, type: 'ManagedHSM' },
        key: { name: `sk-${i}`, type: 'oct-HSM', size: 256 },
        attestation: { authorities: [sandbox.maa.url] },
        workloads: { podSelector: { matchLabels: { app: `sk-${i}` } } },
      },
    },
  });
}
for (;;) {
  const keys = Object.keys(sandbox.vault.service.snapshot().keys).length;
  if (keys >= SKS) break;
  await sleep(100);
}
await sleep(1000);

// 2. Latency: PODS pods, each with its own policy, paced at RATE per second, spread over the keys.
say(`creating ${PODS} opt-in pods at ${RATE}/s (policies of ${POLICY_BYTES} bytes)`);
const pending: Array<{ key: string; digest: string; at: number }> = [];
const t0 = performance.now();
for (let i = 0; i < PODS; i++) {
  const target = t0 + (i * 1000) / RATE;
  const wait = target - performance.now();
  if (wait > 0) await sleep(wait);
  const key = `sk-${i % SKS}`;
  const p = policyOf(`pod-${i}`, POLICY_BYTES);
  const at = performance.now();
  await createPod(`lat-${i}`, key, p.annotation);
  pending.push({ key, digest: p.digest, at });
}
const deadline = performance.now() + 60_000;
while (pending.some((p) => !admittedAt.has(`${p.key}/${p.digest}`)) && performance.now() < deadline)
  await sleep(50);
const latencies = pending
  .map((p) => (admittedAt.get(`${p.key}/${p.digest}`) ?? NaN) - p.at)
  .filter((x) => !Number.isNaN(x))
  .sort((a, b) => a - b);
const missing = pending.length - latencies.length;

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

// 4. Scale: SCALE_PODS opt-in pods in all (pods of one key share 10 policies, as Deployments do).
say(`scaling to ${SCALE_PODS} opt-in pods (policies of ${SCALE_POLICY_BYTES} bytes)`);
const shared = Array.from({ length: SKS * 10 }, (_, j) => policyOf(`shared-${j}`, SCALE_POLICY_BYTES));
let next = PODS;
const workers = Array.from({ length: 16 }, async () => {
  for (;;) {
    const i = next++;
    if (i >= SCALE_PODS) return;
    const k = i % SKS;
    await createPod(`scale-${i}`, `sk-${k}`, shared[k * 10 + (Math.floor(i / SKS) % 10)]!.annotation);
  }
});
let peakRss = 0;
const sampler = setInterval(() => {
  metric('process_resident_memory_bytes')
    .then((v) => (peakRss = Math.max(peakRss, v)))
    .catch(() => {});
}, 500);
await Promise.all(workers);
const scaleDeadline = performance.now() + 120_000;
while (performance.now() < scaleDeadline) {
  const done = shared.every((p, j) => admittedAt.has(`sk-${Math.floor(j / 10)}/${p.digest}`));
  if (done) break;
  await sleep(200);
}
await sleep(5000);
clearInterval(sampler);
const rssAtScale = await metric('process_resident_memory_bytes');
const heapAtScale = await metric('process_heap_bytes');
peakRss = Math.max(peakRss, rssAtScale);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  machine: `${(await import('node:os')).cpus().length} cores`,
  secureKeys: SKS,
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
