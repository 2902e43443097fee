/** scripts/cluster/kind.ts, the kind path of the demo and test/e2e/kind.sh, with kind and docker faked. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  dockerBuildArgs,
  ensureKindCluster,
  kindConfig,
  KindError,
  loadImages,
  type Exec,
} from '../../scripts/cluster/kind.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

function fakeExec(answers: { clusters?: string; cgroup?: string }) {
  const calls: string[][] = [];
  const configs: string[] = [];
  const exec: Exec = (cmd, args) => {
    calls.push([cmd, ...args]);
    if (cmd === 'kind' && args[0] === 'get' && args[1] === 'clusters') return answers.clusters ?? '';
    if (cmd === 'docker' && args[0] === 'info') return `${answers.cgroup ?? '2'}\n`;
    if (cmd === 'kind' && args[0] === 'create')
      configs.push(readFileSync(args[args.indexOf('--config') + 1]!, 'utf8'));
    return '';
  };
  return { exec, calls, configs };
}

describe('kind config', () => {
  it('cgroup v1: kubelet told failCgroupV1: false through kind’s kubeadm patches', () => {
    const config = parse(kindConfig({ cgroupV1: true })) as { kind: string; kubeadmConfigPatches: string[] };
    expect(config.kind).toBe('Cluster');
    expect(config.kubeadmConfigPatches.map((p) => parse(p) as unknown)).toEqual([
      { kind: 'KubeletConfiguration', apiVersion: 'kubelet.config.k8s.io/v1beta1', failCgroupV1: false },
    ]);
  });

  it('cgroup v2: kind’s own kubelet configuration', () => {
    expect(parse(kindConfig({ cgroupV1: false }))).toEqual({
      kind: 'Cluster',
      apiVersion: 'kind.x-k8s.io/v1alpha4',
    });
  });
});

describe('the cluster', () => {
  it('created with the node image, and the cgroup v1 patch when docker info reports cgroup v1', () => {
    const { exec, calls, configs } = fakeExec({ clusters: 'other\n', cgroup: '1' });
    const lines: string[] = [];
    const got = ensureKindCluster({ name: 'sk', nodeImage: 'kindest/node:v1.35.0' }, exec, (l) =>
      lines.push(l),
    );
    expect(got).toEqual({ created: true });
    const create = calls.find((c) => c[1] === 'create')!;
    expect(create.slice(0, 4)).toEqual(['kind', 'create', 'cluster', '--name']);
    expect(create).toContain('sk');
    expect(create.slice(create.indexOf('--image'), create.indexOf('--image') + 2)).toEqual([
      '--image',
      'kindest/node:v1.35.0',
    ]);
    expect(configs[0]).toContain('failCgroupV1: false');
    expect(lines).toEqual(['Docker runs on cgroup v1: the kind config sets kubelet failCgroupV1: false']);
  });

  it('cgroup v2 and no node image: kind’s defaults; --cgroup-v1 forces the patch', () => {
    const v2 = fakeExec({});
    ensureKindCluster({ name: 'sk' }, v2.exec, () => {});
    expect(v2.calls.find((c) => c[1] === 'create')).not.toContain('--image');
    expect(v2.configs[0]).not.toContain('failCgroupV1');
    const forced = fakeExec({});
    ensureKindCluster({ name: 'sk', cgroupV1: true }, forced.exec, () => {});
    expect(forced.calls.some((c) => c[0] === 'docker')).toBe(false);
    expect(forced.configs[0]).toContain('failCgroupV1: false');
  });

  it('an existing cluster is used, not created', () => {
    const { exec, calls } = fakeExec({ clusters: 'kind\nsk\n' });
    expect(ensureKindCluster({ name: 'sk' }, exec, () => {})).toEqual({ created: false });
    expect(calls).toEqual([['kind', 'get', 'clusters']]);
  });
});

describe('images', () => {
  it('built without provenance; an extra CA reaches npm as the extra-ca build secret', () => {
    const plain = dockerBuildArgs('agent', 'r/agent:1');
    expect(plain).toContain('--provenance=false');
    expect(plain).not.toContain('--secret');
    const withCa = dockerBuildArgs('agent', 'r/agent:1', 'proxy-ca.pem');
    expect(withCa.slice(withCa.indexOf('--secret'), withCa.indexOf('--secret') + 2)).toEqual([
      '--secret',
      `id=extra-ca,src=${path.resolve('proxy-ca.pem')}`,
    ]);
  });

  it('every npm ci in images/Dockerfile trusts the extra-ca secret', () => {
    const runs = readFileSync(path.join(repoRoot, 'images/Dockerfile'), 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((l) => l.includes('npm ci'));
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run).toMatch(/^RUN --mount=type=secret,id=extra-ca /);
      expect(run).toContain('NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca');
    }
  });

  it('a missing --extra-ca file stops before any build', () => {
    const { exec, calls } = fakeExec({});
    expect(() =>
      loadImages({ name: 'sk', repo: 'r', tag: '1', extraCa: '/nonexistent/ca.pem' }, exec, () => {}),
    ).toThrow(new KindError('--extra-ca /nonexistent/ca.pem: no such file'));
    expect(calls).toEqual([]);
  });

  it('builds and loads the three images into the cluster', () => {
    const { exec, calls } = fakeExec({});
    expect(loadImages({ name: 'sk', repo: 'r', tag: '1' }, exec, () => {})).toEqual([
      'r/operator:1',
      'r/agent:1',
      'r/simulators:1',
    ]);
    expect(calls.filter((c) => c[0] === 'kind')).toEqual(
      ['operator', 'agent', 'simulators'].map((i) => [
        'kind',
        'load',
        'docker-image',
        '--name',
        'sk',
        `r/${i}:1`,
      ]),
    );
  });
});
