#!/usr/bin/env node
/**
 * Node mode (issue 14; method in bench/README.md): the node agent as its image runs it — the bundle of
 * scripts/bundle-agent.ts, `node main.cjs node-server` with the azure-guest key source — as its own
 * process against the sandbox on loopback, a simulated vTPM (swtpm, sim/vtpm) and a stand-in Kubernetes
 * API (test/support/agent/node-world.ts).
 *
 * 1. Bursts: `--pods` pods, each with its own bound token, ask at once (in this process, through the pod
 *    half's fetchFromNodeAgent) for both keys — cold (nothing attested or released yet), warm (nothing
 *    changed), and after one key is rotated (a new version in the vault and the SecureKey's
 *    status.key.version updated). Counted: vault releases and MAA attest calls made during each burst;
 *    time to key per pod; the node agent's resident memory after it.
 * 2. Start-up: the init container of a node-mode pod (`node main.cjs node`, warm compile cache) doing
 *    one HTTPS call to the warm node agent, spawn → key written; beside it bare Node and the pod-mode
 *    agent (`node main.cjs init`, one key, as bench/agent.ts measures it), interleaved per round.
 *
 *   npm run bench:node [-- --pods 50 --warm-bursts 1 --runs 10 --warmup 2 --securekey-ttl 5 --main <entry> --out <file>]
 *
 * `--main` runs another entry (another bundle's main.cjs, or an `agent/main.ts`) for every process, for
 * before/after.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fetchFromNodeAgent } from '../agent/node/node-client.ts';
import { parseNodeConfig } from '../agent/node/node-config.ts';
import { buildConfidentialVmPolicy, serializePolicy } from '../core/policy/index.ts';
import { launchSimulatedVtpm } from '../sim/vtpm/index.ts';
import { bundleAgent } from '../scripts/bundle-agent.ts';
import { repoRoot } from '../scripts/cluster/paths.ts';
import { NODE, startNodeWorld } from '../test/support/agent/node-world.ts';
import { startAgentWorld } from '../test/support/agent/world.ts';
import { BARE_NODE_ARGV, quantile, r1, r2, timedSpawn, type TimedRun } from './timing.ts';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '50' },
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'warm-bursts': { type: 'string', default: '1' },
    'securekey-ttl': { type: 'string', default: '5' },
    main: { type: 'string' },
    out: { type: 'string' },
  },
});
const PODS = Number(args.pods);
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
/** The node agent's SecureKey cache (its default, 5 s): a rotation is seen once it has passed. */
const SECUREKEY_TTL_S = Number(args['securekey-ttl']);

const spread = (xs: number[]) => ({
  min: r1(quantile(xs, 0)),
  median: r1(quantile(xs, 0.5)),
  max: r1(quantile(xs, 1)),
});
const load = () => loadavg().map(r2);

// ---- the world ------------------------------------------------------------------------------------
const bundleDir = mkdtempSync(path.join(tmpdir(), 'securekey-agent-bundle-'));
const main = args.main ? path.resolve(args.main) : (await bundleAgent(bundleDir)).main;
// As in the image: V8's compile cache, warmed by the warm-up rounds (the image warms it at build time).
const compileCache = mkdtempSync(path.join(tmpdir(), 'securekey-ncc-'));
const world = await startAgentWorld();
// The node's platform is the sandbox's simulated AMD, whose VCEK the sandbox's THIM serves.
const vtpm = await launchSimulatedVtpm({ amd: world.sb.amd });
const node = await startNodeWorld();
const cvmPolicy = serializePolicy(
  buildConfidentialVmPolicy({
    authorities: [world.sb.maa.issuer],
    complianceStatuses: ['azure-compliant-cvm'],
  }),
);
/** SecureKey (namespace shop) → vault key; the aliases the pods use are the SecureKeys' names. */
const KEYS = { 'db-key': 'cvm-a', 'tls-key': 'cvm-b' } as const;
type SecureKeyName = keyof typeof KEYS;
const material = new Map<SecureKeyName, Buffer>();

async function importVersion(sk: SecureKeyName): Promise<void> {
  const k = crypto.randomBytes(32);
  const imported = await world.officer.importKey(KEYS[sk], { kty: 'oct-HSM', k } as never, {
    hardwareProtected: true,
    exportable: true,
    releasePolicy: { encodedPolicy: Buffer.from(cvmPolicy) },
  });
  material.set(sk, k);
  node.secureKeys.set(
    `shop/${sk}`,
    node.secureKey('shop', sk, {
      vaultUrl: world.sb.vault.url,
      keyName: KEYS[sk],
      version: imported.properties.version!,
      authority: world.sb.maa.url,
    }),
  );
}
for (const sk of Object.keys(KEYS) as SecureKeyName[]) await importVersion(sk);

let agentLog = '';
const agent = spawn(process.execPath, [main, 'node-server', '--port=0'], {
  env: {
    ...world.env(), // pod mode's settings: the sandbox's identity, THIM, CA and release trust roots
    KUBECONFIG: node.kubeconfig,
    NODE_NAME: NODE,
    SECUREKEY_NODE_SERVER_TLS_CERT: node.certFile,
    SECUREKEY_NODE_SERVER_TLS_KEY: node.keyFile,
    SECUREKEY_NODE_KEY_SOURCE: 'azure-guest',
    SECUREKEY_TPM: vtpm.address,
    SECUREKEY_TCG_LOG: vtpm.tcgLogPath,
    SECUREKEY_NODE_SECUREKEY_TTL: `${SECUREKEY_TTL_S}s`,
    NODE_COMPILE_CACHE: compileCache,
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
agent.stderr.on('data', (c: Buffer) => (agentLog += c.toString()));
const url = await new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no serving line:\n${agentLog}`)), 30_000);
  const look = () => {
    const m = /"msg":"serving","url":"([^"]+)"/.exec(agentLog);
    if (!m) return;
    clearTimeout(timer);
    agent.stderr.off('data', look);
    resolve(m[1]!);
  };
  agent.stderr.on('data', look);
  agent.once('exit', (code) => reject(new Error(`node-server exited ${code}:\n${agentLog}`)));
});

/** The node agent's memory from /proc: resident now and its peak (VmHWM), MiB. */
function agentMemory(): { rssMiB: number; peakRssMiB: number } {
  const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rssMiB: r1(kib('VmRSS') / 1024), peakRssMiB: r1(kib('VmHWM') / 1024) };
}

/** The node agent's `request refused` lines since `from`, by code. */
function refusalsLogged(from: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of agentLog.slice(from).split('\n')) {
    if (!line.includes('"msg":"request refused"')) continue;
    const { code } = JSON.parse(line) as { code: string };
    out[code] = (out[code] ?? 0) + 1;
  }
  return out;
}

/** The node agent's CPU time so far (user + system), ms; /proc counts in clock ticks (USER_HZ, 100). */
function agentCpuMs(): number {
  const stat = readFileSync(`/proc/${agent.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The node agent's own `release` lines (one per call to the vault) since `from`, by vault key. */
function releasesLogged(from: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of agentLog.slice(from).split('\n')) {
    if (!line.includes('"msg":"release"')) continue;
    const e = JSON.parse(line) as { keyId: string; outcome: string };
    const key = `${e.keyId.split('/keys/')[1]!.split('/')[0]} (${e.outcome})`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

let podCount = 0;
/** A new node-mode pod asking for `secureKeys` (aliases = names): the init container's arguments, as the
 * webhook injects them, and where it writes. */
async function newPod(prefix: string, secureKeys: string[]): Promise<{ argv: string[]; outputDir: string }> {
  const name = `${prefix}-${++podCount}`;
  const token = await node.addPod(name, { keys: secureKeys });
  const outputDir = path.join(node.dir, 'out', name);
  return {
    outputDir,
    argv: [
      'node',
      `--node-agent-url=${url}`,
      `--node-agent-ca=${node.caFile}`,
      `--token-file=${token}`,
      ...secureKeys.map((sk) => `--key=${sk}=${sk}`),
      `--output-dir=${outputDir}`,
      '--allow-disk-output',
      '--timeout=60s',
    ],
  };
}

// ---- 1. bursts ------------------------------------------------------------------------------------
async function burst(label: string, expected: { releases: number; attests: number }) {
  const pods = await Promise.all(
    Array.from({ length: PODS }, async () =>
      parseNodeConfig((await newPod('web', Object.keys(KEYS))).argv, {}),
    ),
  );
  const logFrom = agentLog.length;
  const releaseCallsBefore = { ...world.sb.vault.stats.calls['releaseKey'] };
  const attestsBefore = world.sb.maa.stats.attests();
  const agentCpuBefore = agentCpuMs();
  const benchCpuBefore = process.cpuUsage();
  const started = performance.now();
  const retries: string[] = [];
  const times = await Promise.all(
    pods.map(async (c) => {
      await fetchFromNodeAgent(c, (e) => {
        if (e['msg'] !== 'keys written') retries.push(String(e['last']));
      });
      return performance.now() - started;
    }),
  );
  const wallMs = performance.now() - started;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const agentCpu = agentCpuMs() - agentCpuBefore;
  // Every pod holds the vault's current bytes.
  for (const c of pods) {
    for (const sk of Object.keys(KEYS) as SecureKeyName[]) {
      if (!readFileSync(path.join(c.outputDir, sk)).equals(material.get(sk)!)) {
        throw new Error(`${label}: a pod's ${sk} is not the vault's current version`);
      }
    }
  }
  // By status: the Key Vault SDK's first call of a client is unauthenticated (its challenge: a 401).
  const releaseCalls = Object.fromEntries(
    Object.entries(world.sb.vault.stats.calls['releaseKey'] ?? {})
      .map(([status, n]) => [status, n - (releaseCallsBefore[status] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const releases = releaseCalls['200'] ?? 0;
  const attests = world.sb.maa.stats.attests() - attestsBefore;
  return {
    burst: label,
    pods: PODS,
    keysPerPod: Object.keys(KEYS).length,
    vaultReleases: releases,
    vaultReleaseCallsByStatus: releaseCalls,
    releasesByKey: releasesLogged(logFrom),
    /** Pods' retries (what failed first) and the node agent's refusals, by code. */
    podRetries: retries,
    refusals: refusalsLogged(logFrom),
    maaAttests: attests,
    expected,
    met: releases === expected.releases && attests === expected.attests,
    timeToKeysMs: {
      p50: r1(quantile(times, 0.5)),
      p90: r1(quantile(times, 0.9)),
      p99: r1(quantile(times, 0.99)),
      max: r1(quantile(times, 1)),
    },
    wallMs: r1(wallMs),
    /** CPU spent during the burst: the node agent's (10 ms ticks), and this process's (the pods' side,
     * the stand-in API server, the simulators, the vTPM's proxy). */
    cpuMs: {
      nodeAgent: agentCpu,
      nodeAgentPerPod: r1(agentCpu / PODS),
      bench: r1((benchCpu.user + benchCpu.system) / 1000),
    },
    nodeAgentAfter: agentMemory(),
    loadAverage: load(),
  };
}

const idle = agentMemory();
const cold = await burst('cold', { releases: 2, attests: 1 });
// More than one (--warm-bursts) tells whether the node agent's memory settles or keeps growing.
const warm = [];
for (let i = 0; i < Number(args['warm-bursts']); i++)
  warm.push(await burst('warm', { releases: 0, attests: 0 }));
await importVersion('db-key');
// The node agent sees the new version once its SecureKey cache has expired (a real rotation is seen the same way).
await sleep(SECUREKEY_TTL_S * 1000 + 200);
const rotated = await burst('one key rotated', { releases: 1, attests: 0 });

// ---- 2. start-up ----------------------------------------------------------------------------------
async function checked(what: string, run: TimedRun, files: string[]): Promise<number> {
  if (run.code !== 0 || Number.isNaN(run.readyMs))
    throw new Error(`${what} failed (${run.code}): ${run.stderr.slice(-800)}`);
  for (const f of files) if (!existsSync(f)) throw new Error(`${what} said ready but ${f} is missing`);
  return run.readyMs;
}

/** `securekey-agent node` as the webhook injects it: one key, from the warm node agent. */
const nodeClientStarting: number[] = [];
async function nodeClientOnce(record = false): Promise<number> {
  const pod = await newPod('init', ['db-key']);
  const run = await timedSpawn([main, ...pod.argv], {
    PATH: process.env['PATH'] ?? '',
    NODE_COMPILE_CACHE: compileCache,
  });
  if (record) nodeClientStarting.push(run.startingMs);
  const out = pod.outputDir;
  const ms = await checked('the node client', run, [
    path.join(out, 'db-key'),
    path.join(out, '.securekey-ready'),
  ]);
  if (!readFileSync(path.join(out, 'db-key')).equals(material.get('db-key')!))
    throw new Error('the node client wrote another key');
  return ms;
}

/** The pod-mode agent as bench/agent.ts runs it: `init`, one key, PSP evidence. */
async function podAgentOnce(): Promise<number> {
  const out = world.outputDir('pod-mode');
  const run = await timedSpawn(
    [main, 'init'],
    world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=oct-key', NODE_COMPILE_CACHE: compileCache }),
  );
  return checked('the pod-mode agent', run, [path.join(out, 'db'), path.join(out, '.securekey-ready')]);
}

/** The same one-key request by fetchFromNodeAgent in this warm process: what the call itself costs. */
async function requestInProcessOnce(): Promise<number> {
  const config = parseNodeConfig((await newPod('ref', ['db-key'])).argv, {});
  const started = performance.now();
  await fetchFromNodeAgent(config);
  return performance.now() - started;
}

/** Node itself: spawn → a `ready` line from a script that does nothing else. */
async function bareNodeOnce(): Promise<number> {
  const run = await timedSpawn(BARE_NODE_ARGV, {
    PATH: process.env['PATH'] ?? '',
    NODE_COMPILE_CACHE: compileCache,
  });
  return checked('node -e', run, []);
}

for (let i = 0; i < WARMUP; i++) {
  await bareNodeOnce();
  await nodeClientOnce();
  await podAgentOnce();
  await requestInProcessOnce();
}
const samples = {
  bare: [] as number[],
  nodeClient: [] as number[],
  podAgent: [] as number[],
  request: [] as number[],
};
// Interleaved, so drift on the machine affects each alike.
for (let i = 0; i < RUNS; i++) {
  samples.bare.push(await bareNodeOnce());
  samples.nodeClient.push(await nodeClientOnce(true));
  samples.podAgent.push(await podAgentOnce());
  samples.request.push(await requestInProcessOnce());
}
const med = (xs: number[]) => quantile(xs, 0.5);
const ratioOfMedians = r2(med(samples.nodeClient) / med(samples.podAgent));
const startUp = {
  runs: RUNS,
  spawnToFirstLineBareNodeMs: spread(samples.bare),
  nodeClientSpawnToKeyWrittenMs: spread(samples.nodeClient),
  /** Of it: spawn → its `starting` line (Node's start, its modules, the configuration). */
  nodeClientSpawnToStartingMs: spread(nodeClientStarting),
  podAgentSpawnToKeyWrittenMs: spread(samples.podAgent),
  nodeClientOverPodAgent: {
    ratioOfMedians,
    perRound: spread(samples.nodeClient.map((n, i) => n / samples.podAgent[i]!)),
    target: 0.25,
    met: ratioOfMedians <= 0.25,
  },
  /** One request (TLS handshake, the node agent's checks, the write) from this warm process. */
  requestInWarmProcessMs: spread(samples.request),
  /** What the node client spends beyond starting Node: its modules, one HTTPS call, the write. */
  nodeClientAboveBareNodeMs: r1(med(samples.nodeClient) - med(samples.bare)),
  /** The best a Node client could do: bare Node + the warm request, over the pod-mode agent. */
  floorOverPodAgent: r2((med(samples.bare) + med(samples.request)) / med(samples.podAgent)),
  nodeAgentAfter: agentMemory(),
};

const result = {
  date: new Date().toISOString(),
  node: process.version,
  entry: args.main ?? 'bundle main.cjs',
  keySource: 'azure-guest (swtpm vTPM)',
  secureKeyTtlS: SECUREKEY_TTL_S,
  nodeAgentIdle: idle,
  bursts: [cold, ...warm, rotated],
  startUp,
  loadAverageAtEnd: load(),
};
const human = [
  `node agent idle: RSS ${idle.rssMiB} MiB (peak ${idle.peakRssMiB})`,
  ...result.bursts.map(
    (b) =>
      `${b.burst}: ${b.pods} pods × ${b.keysPerPod} keys → ${b.vaultReleases} vault releases, ${b.maaAttests} MAA attests ` +
      `(release calls by status ${JSON.stringify(b.vaultReleaseCallsByStatus)}; expected ${b.expected.releases}/${b.expected.attests}: ${b.met ? 'met' : 'NOT met'}); time to keys p50 ${b.timeToKeysMs.p50} ` +
      `p99 ${b.timeToKeysMs.p99} ms${b.podRetries.length ? ` (retries: ${b.podRetries.join('; ')})` : ''}; node agent CPU ${b.cpuMs.nodeAgent} ms (this process ${b.cpuMs.bench}); node agent RSS ${b.nodeAgentAfter.rssMiB} MiB (peak ${b.nodeAgentAfter.peakRssMiB})`,
  ),
  `start-up (${RUNS} runs, min/median/max ms): bare Node ${Object.values(startUp.spawnToFirstLineBareNodeMs).join('/')}, ` +
    `node client ${Object.values(startUp.nodeClientSpawnToKeyWrittenMs).join('/')} ` +
    `(of which to its starting line ${Object.values(startUp.nodeClientSpawnToStartingMs).join('/')}), ` +
    `pod-mode agent ${Object.values(startUp.podAgentSpawnToKeyWrittenMs).join('/')}, ` +
    `one request from a warm process ${Object.values(startUp.requestInWarmProcessMs).join('/')}; ` +
    `node client / pod agent ${ratioOfMedians}× (target ≤ 0.25×: ${startUp.nodeClientOverPodAgent.met ? 'met' : 'NOT met'}; ` +
    `floor, bare Node + warm request: ${startUp.floorOverPodAgent}×)`,
  `load average at the end: ${result.loadAverageAtEnd.join(', ')}`,
];
process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${human.join('\n')}\n`);
const outFile = args.out ?? path.join(repoRoot, 'bench/results/node-latest.json');
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);

const exited = new Promise((r) => agent.once('exit', r));
agent.kill('SIGTERM');
await exited;
await node.close();
await vtpm.stop();
await world.close();
rmSync(compileCache, { recursive: true, force: true });
rmSync(bundleDir, { recursive: true, force: true });
