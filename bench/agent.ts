#!/usr/bin/env node
/**
 * Agent wall time (method in bench/README.md): `node agent/main.ts init` as a process against the
 * sandbox on loopback, 1 key and 3 keys, N runs each, broken down by step.
 *
 *   npm run bench:agent [-- --runs 15]
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runAgentProcess, startAgentWorld } from '../agent/testing/world.ts';
import { repoRoot } from '../test/support/paths.ts';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, out: { type: 'string' } },
});
const RUNS = Number(args.runs);

interface Step {
  step: string;
  startMs: number;
  durationMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

const world = await startAgentWorld();
// As in the image: V8's compile cache, warmed by the first runs (the image warms it at build time).
const compileCache = mkdtempSync(path.join(tmpdir(), 'securekey-ncc-'));

interface Samples {
  walls: number[];
  totals: number[];
  unavoidable: number[];
  steps: Map<string, number[]>;
}

async function runOnce(keys: string, into: Samples | undefined): Promise<void> {
  const out = world.outputDir('bench');
  const started = performance.now();
  const run = await runAgentProcess(
    world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: keys, NODE_COMPILE_CACHE: compileCache }),
  );
  const wall = performance.now() - started;
  if (run.code !== 0) throw new Error(`agent failed: ${run.stderr.slice(-500)}`);
  if (!into) return; // warm-up (compile cache, simulator caches)
  const timings = (run.result?.['timings'] ?? []) as Step[];
  const d = (name: string) => timings.filter((t) => t.step === name).reduce((a, t) => a + t.durationMs, 0);
  const slowestRelease = Math.max(
    ...timings.filter((t) => t.step.startsWith('release:')).map((t) => t.durationMs),
  );
  // The steps nothing can avoid or overlap: one key pair, one report, one MAA round trip, the slowest of
  // the parallel releases, the unwraps.
  into.unavoidable.push(d('runtime-key') + d('evidence') + d('attestation') + slowestRelease + d('unwrap'));
  into.walls.push(wall);
  into.totals.push(Number(run.result?.['totalMs']));
  for (const t of timings) into.steps.set(t.step, [...(into.steps.get(t.step) ?? []), t.durationMs]);
}

function summary(keys: string, s: Samples): Record<string, unknown> {
  return {
    keys: keys.split(',').length,
    runs: s.walls.length,
    processWallMsMedian: r1(median(s.walls)),
    agentTotalMsMedian: r1(median(s.totals)),
    unavoidableMsMedian: r1(median(s.unavoidable)),
    ratioAgentToUnavoidable: r1(median(s.totals.map((t, i) => t / s.unavoidable[i]!)) * 10) / 10,
    stepsMsMedian: Object.fromEntries([...s.steps].map(([k, v]) => [k, r1(median(v))])),
  };
}

const CASES = {
  one: 'db=oct-key',
  three: 'db=oct-key,tls=rsa-key:pem,sig=ec-key:jwk',
  threeSameType: 'a=oct-key,b=oct-key,c=oct-key:jwk',
} as const;
const samples = Object.fromEntries(
  Object.keys(CASES).map((k) => [k, { walls: [], totals: [], unavoidable: [], steps: new Map() } as Samples]),
) as Record<keyof typeof CASES, Samples>;
for (const keys of Object.values(CASES)) await runOnce(keys, undefined);
for (const keys of Object.values(CASES)) await runOnce(keys, undefined);
// Interleaved, so drift on the machine affects every case alike.
for (let i = 0; i < RUNS; i++) {
  for (const [name, keys] of Object.entries(CASES)) await runOnce(keys, samples[name as keyof typeof CASES]);
}
const one = summary(CASES.one, samples.one);
const three = summary(CASES.three, samples.three);
const threeSameType = summary(CASES.threeSameType, samples.threeSameType);
const result = {
  date: new Date().toISOString(),
  node: process.version,
  one,
  three,
  threeSameType,
  threeOverOne: {
    agentTotal: r1((Number(three['agentTotalMsMedian']) / Number(one['agentTotalMsMedian'])) * 100) / 100,
    processWall: r1((Number(three['processWallMsMedian']) / Number(one['processWallMsMedian'])) * 100) / 100,
  },
  threeSameTypeOverOne: {
    agentTotal:
      r1((Number(threeSameType['agentTotalMsMedian']) / Number(one['agentTotalMsMedian'])) * 100) / 100,
    processWall:
      r1((Number(threeSameType['processWallMsMedian']) / Number(one['processWallMsMedian'])) * 100) / 100,
  },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const outFile = args.out ?? path.join(repoRoot, 'bench/results/agent-latest.json');
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
await world.close();
