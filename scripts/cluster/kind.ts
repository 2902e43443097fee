#!/usr/bin/env node
/**
 * kind's path, one for `npm run demo -- --kind` (which calls these functions) and test/e2e/kind.sh (which
 * runs this file): the prerequisites checked before any cluster exists, the cluster created from a
 * config of ours, the three images built from images/Dockerfile and loaded into it.
 *
 * - cgroup v1 Docker hosts: kubelet ≥ 1.35 refuses them unless `failCgroupV1: false`, which stock kind
 *   does not set. The config patches kind's KubeletConfiguration with it when `docker info` reports
 *   cgroup v1, or when asked (`--cgroup-v1`); kind skips kubeadm's preflight checks, so nothing else does.
 * - TLS-intercepting proxies: `--extra-ca FILE` reaches npm inside `docker build` as a build secret
 *   (images/Dockerfile: NODE_EXTRA_CA_CERTS), without entering any image layer.
 *
 *   node scripts/cluster/kind.ts create --name N [--node-image kindest/node:vX] [--cgroup-v1]
 *       → prints "created" or "existing" (callers delete only a cluster they created)
 *   node scripts/cluster/kind.ts images --name N --tag T [--repo R] [--extra-ca FILE] [--kubeconfig FILE]
 *       → builds and loads the images; writes the cluster's kubeconfig to FILE
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { SecureKeyError } from '../../core/errors.ts';
import { repoRoot } from './paths.ts';
import { ensureKindPrerequisites, realHost } from './prerequisites.ts';

export const IMAGES = ['operator', 'agent', 'simulators'] as const;

/** A kind or Docker command failed; its own output is already on stderr. */
export class KindError extends SecureKeyError<'command-failed'> {
  constructor(message: string) {
    super('command-failed', message);
  }
}

/** Runs a command (output to stderr, stdout returned when `capture`); throws KindError when it fails. */
export type Exec = (cmd: string, args: string[], capture?: boolean) => string;

export const realExec: Exec = (cmd, args, capture = false) => {
  try {
    return execFileSync(cmd, args, {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', capture ? 'pipe' : 'ignore', 'inherit'],
    });
  } catch (err) {
    const status = (err as { status?: number | null }).status;
    throw new KindError(`${cmd} ${args.join(' ')} failed${status == null ? '' : ` (exit ${status})`}`);
  }
};

export interface ClusterOptions {
  name: string;
  /** kind's `--image`, e.g. kindest/node:v1.35.0 (kind's default otherwise). */
  nodeImage?: string;
  /** Set kubelet's `failCgroupV1: false`; undefined: when `docker info` reports cgroup v1. */
  cgroupV1?: boolean;
}

/** The cluster's kind config: one node; kubelet allowed on cgroup v1 when `cgroupV1`. */
export function kindConfig(o: { cgroupV1: boolean }): string {
  return stringify({
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    ...(o.cgroupV1
      ? {
          kubeadmConfigPatches: [
            stringify({
              kind: 'KubeletConfiguration',
              apiVersion: 'kubelet.config.k8s.io/v1beta1',
              failCgroupV1: false,
            }),
          ],
        }
      : {}),
  });
}

export function createArgs(o: ClusterOptions, configFile: string): string[] {
  return [
    'create',
    'cluster',
    '--name',
    o.name,
    '--config',
    configFile,
    ...(o.nodeImage ? ['--image', o.nodeImage] : []),
    '--wait',
    '120s',
  ];
}

/** Creates the cluster unless one of that name exists; `created` says which. */
export function ensureKindCluster(
  o: ClusterOptions,
  exec: Exec,
  log: (line: string) => void,
): { created: boolean } {
  if (exec('kind', ['get', 'clusters'], true).split('\n').includes(o.name)) return { created: false };
  const cgroupV1 =
    o.cgroupV1 ?? exec('docker', ['info', '--format', '{{.CgroupVersion}}'], true).trim() === '1';
  if (cgroupV1) log('Docker runs on cgroup v1: the kind config sets kubelet failCgroupV1: false');
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-kind-'));
  try {
    const config = path.join(dir, 'kind.yaml');
    writeFileSync(config, kindConfig({ cgroupV1 }));
    exec('kind', createArgs(o, config));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { created: true };
}

export interface ImageOptions {
  name: string;
  repo: string;
  tag: string;
  /** PEM file of a CA npm must trust inside `docker build` (a TLS-intercepting proxy). */
  extraCa?: string;
}

/** `docker build` of one image; no provenance attestation: with Docker 29's containerd image store, `kind load` cannot import it. */
export function dockerBuildArgs(image: string, ref: string, extraCa?: string): string[] {
  return [
    'build',
    '-q',
    '--provenance=false',
    ...(extraCa ? ['--secret', `id=extra-ca,src=${path.resolve(extraCa)}`] : []),
    '-f',
    'images/Dockerfile',
    '--target',
    image,
    '-t',
    ref,
    repoRoot,
  ];
}

/** Builds the three images and loads them into the cluster; returns their references. */
export function loadImages(o: ImageOptions, exec: Exec, log: (line: string) => void): string[] {
  if (o.extraCa && !existsSync(o.extraCa)) throw new KindError(`--extra-ca ${o.extraCa}: no such file`);
  return IMAGES.map((image) => {
    const ref = `${o.repo}/${image}:${o.tag}`;
    log(`building ${ref} (images/Dockerfile) and loading it into kind cluster ${o.name}`);
    exec('docker', dockerBuildArgs(image, ref, o.extraCa));
    exec('kind', ['load', 'docker-image', '--name', o.name, ref]);
    return ref;
  });
}

export function kindKubeconfig(name: string, exec: Exec): string {
  return exec('kind', ['get', 'kubeconfig', '--name', name], true);
}

/** Everything before the specs: prerequisites, cluster, images, kubeconfig. */
export function prepareKind(
  o: ClusterOptions & ImageOptions & { kubeconfig: string },
  log: (line: string) => void,
  exec: Exec = realExec,
): { created: boolean } {
  ensureKindPrerequisites(realHost);
  const cluster = ensureKindCluster(o, exec, log);
  writeFileSync(o.kubeconfig, kindKubeconfig(o.name, exec), { mode: 0o600 });
  loadImages(o, exec, log);
  return cluster;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const log = (line: string) => process.stderr.write(`[kind] ${line}\n`);
  try {
    const { positionals, values } = parseArgs({
      allowPositionals: true,
      options: {
        name: { type: 'string', default: 'securekey-e2e' },
        'node-image': { type: 'string' },
        'cgroup-v1': { type: 'boolean' },
        repo: { type: 'string', default: 'localhost/securekey' },
        tag: { type: 'string' },
        'extra-ca': { type: 'string' },
        kubeconfig: { type: 'string' },
      },
    });
    if (positionals[0] === 'create') {
      ensureKindPrerequisites(realHost);
      const { created } = ensureKindCluster(
        {
          name: values.name,
          ...(values['node-image'] ? { nodeImage: values['node-image'] } : {}),
          ...(values['cgroup-v1'] ? { cgroupV1: true } : {}),
        },
        realExec,
        log,
      );
      process.stdout.write(created ? 'created\n' : 'existing\n');
    } else if (positionals[0] === 'images' && values.tag) {
      if (values.kubeconfig)
        writeFileSync(values.kubeconfig, kindKubeconfig(values.name, realExec), { mode: 0o600 });
      loadImages(
        {
          name: values.name,
          repo: values.repo,
          tag: values.tag,
          ...(values['extra-ca'] ? { extraCa: values['extra-ca'] } : {}),
        },
        realExec,
        log,
      );
    } else {
      throw new KindError('usage: kind.ts create|images … (see the header of scripts/cluster/kind.ts)');
    }
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
