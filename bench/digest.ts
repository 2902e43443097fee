#!/usr/bin/env node
/**
 * What one pod's policy costs the operator's informer (method in bench/README.md): `trimPod` of a pod
 * whose annotation is seen for the first time, and of the same pod again (a status update or a relist),
 * for an agent policy of 64 and 250 KiB and initdata of 1 MiB. No cluster; `--root` runs another tree's
 * code (e.g. an older checkout) under the same harness.
 *
 *   node bench/digest.ts [--root <tree>] [--runs 50]
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../scripts/cluster/paths.ts';

const { values: args } = parseArgs({
  options: { root: { type: 'string', default: repoRoot }, runs: { type: 'string', default: '50' } },
});
const RUNS = Number(args.runs);
const root = path.resolve(args.root);
const { trimPod } = (await import(path.join(root, 'core/workload/index.ts'))) as {
  trimPod: (pod: unknown) => { policies: Record<string, unknown> };
};

function pod(name: string, annotations: Record<string, string>) {
  return { metadata: { namespace: 'ns', name, uid: name, annotations }, spec: {}, status: {} };
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Median ms of trimPod on a fresh value (`make(i)`) and on the same value again. */
function measure(make: (i: number) => Record<string, string>): { firstMs: number; againMs: number } {
  const first: number[] = [];
  const again: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const annotations = make(i);
    let t = performance.now();
    trimPod(pod(`p${i}`, annotations));
    first.push(performance.now() - t);
    t = performance.now();
    trimPod(pod(`p${i}`, annotations));
    again.push(performance.now() - t);
  }
  return { firstMs: +median(first).toFixed(3), againMs: +median(again).toFixed(3) };
}

const KATA = 'io.katacontainers.config.agent.policy';
const INITDATA = 'io.katacontainers.config.hypervisor.cc_init_data';
const rego = (bytes: number, i: number) =>
  Buffer.concat([Buffer.from(`package agent_policy\n# ${i}\n`), randomBytes(bytes)]).toString('base64');
const initdata = (bytes: number, i: number) =>
  gzipSync(
    Buffer.from(
      `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = '''\n# ${i}\n${'allow := true\n'.repeat(bytes / 14)}'''\n`,
    ),
  ).toString('base64');

const result = {
  date: new Date().toISOString(),
  node: process.version,
  root,
  runs: RUNS,
  agentPolicy64KiB: measure((i) => ({ [KATA]: rego(48 * 1024, i) })),
  agentPolicy250KiB: measure((i) => ({ [KATA]: rego(187 * 1024, i) })),
  agentPolicy250KiBWrapped: measure((i) => ({ [KATA]: rego(187 * 1024, i).replace(/(.{76})/g, '$1\n') })),
  initdata1MiB: measure((i) => ({ [INITDATA]: initdata(1024 * 1024, i) })),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
