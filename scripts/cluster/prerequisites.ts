#!/usr/bin/env node
/**
 * What each way of getting a cluster needs on this machine, checked before any cluster is created
 * (`npm run demo`, `npm run test:e2e`, `test/e2e/kind.sh`):
 * - the local cluster: root and Debian's containerd, runc, CNI plugins, buildah and iptables (kube-proxy),
 *   gcc for the agent's native helper, swtpm (swtpm-tools, tpm2-tools) for the simulated vTPM, Go to build the Kubernetes binaries once. As root the missing
 *   packages are installed, as `.ci/run` does; otherwise the exact apt-get command is named.
 * - kind: docker with the buildx plugin (`--provenance=false`, build secrets), a reachable Docker engine,
 *   kind and helm on PATH.
 *
 *   node scripts/cluster/prerequisites.ts local|kind     exits 1 with one line naming what is missing
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { SecureKeyError } from '../../core/errors.ts';

/** A prerequisite is missing; the message says what to run. */
export class PrerequisiteError extends SecureKeyError<'missing'> {
  constructor(message: string) {
    super('missing', message);
  }
}

/** The machine as the checks see it (injected by the specs). */
export interface Host {
  /** Runs a command; true when it exits 0. Output is discarded. */
  succeeds(cmd: string, args: string[]): boolean;
  exists(file: string): boolean;
  isRoot: boolean;
  /** Runs a command with its output shown; throws when it fails. */
  run(cmd: string, args: string[]): void;
}

export const realHost: Host = {
  succeeds: (cmd, args) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  },
  exists: existsSync,
  isRoot: process.getuid?.() === 0,
  run: (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] }),
};

const onPath = (host: Host, tool: string) => host.succeeds('sh', ['-c', `command -v ${tool}`]);

/** Debian package → whether this machine has what the local cluster uses from it. */
const LOCAL_PACKAGES: ReadonlyArray<[pkg: string, present: (h: Host) => boolean]> = [
  ['containerd', (h) => onPath(h, 'containerd') && onPath(h, 'ctr')],
  ['runc', (h) => onPath(h, 'runc')],
  ['containernetworking-plugins', (h) => h.exists('/usr/lib/cni/bridge')],
  ['buildah', (h) => onPath(h, 'buildah')],
  ['iptables', (h) => onPath(h, 'iptables')],
  ['gcc', (h) => onPath(h, 'gcc')],
  ['libc6-dev', (h) => h.exists('/usr/include/stdio.h')],
  // The simulated Azure vTPM of node mode (sim/vtpm); tpm2-tools for its cross-checks.
  ['swtpm', (h) => onPath(h, 'swtpm')],
  ['swtpm-tools', (h) => onPath(h, 'swtpm_setup')],
  ['tpm2-tools', (h) => onPath(h, 'tpm2_nvread')],
];

export function missingLocalPackages(host: Host): string[] {
  return LOCAL_PACKAGES.filter(([, present]) => !present(host)).map(([pkg]) => pkg);
}

export function aptInstall(packages: string[]): string {
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/**
 * Makes the local cluster's prerequisites present, or throws naming them. Go is named, not installed:
 * Debian's is older than the Kubernetes modules need (GOTOOLCHAIN appeared in Go 1.21).
 */
export function ensureLocalPrerequisites(host: Host, log: (line: string) => void): void {
  let missing = missingLocalPackages(host);
  if (!host.isRoot) {
    throw new PrerequisiteError(
      missing.length
        ? `the local cluster needs root and Debian packages: sudo sh -c '${aptInstall(missing)}', then run it as root`
        : 'the local cluster needs root (containerd, runc, mounts): run it as root, e.g. with sudo',
    );
  }
  if (missing.length) {
    log(`installing what the local cluster needs: ${missing.join(' ')}`);
    host.run('apt-get', ['update']);
    host.run('env', [
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '--no-install-recommends',
      ...missing,
    ]);
    missing = missingLocalPackages(host);
    if (missing.length) throw new PrerequisiteError(`still missing after apt-get: ${missing.join(' ')}`);
  }
  const hasGo = onPath(host, 'go') || host.exists('/usr/local/go/bin/go');
  if (!hasGo && !process.env['SECUREKEY_K8S_BIN']) {
    throw new PrerequisiteError(
      'Go ≥ 1.21 is needed once, to build the Kubernetes binaries (https://go.dev/dl, into /usr/local/go)',
    );
  }
}

/** What kind's path lacks, one entry each; empty when it can start. */
export function missingForKind(host: Host): string[] {
  const missing: string[] = [];
  if (!onPath(host, 'docker')) missing.push('docker (https://docs.docker.com/engine/install)');
  else {
    if (!host.succeeds('docker', ['buildx', 'version']))
      missing.push('the docker buildx plugin (Debian/Ubuntu: docker-buildx-plugin or docker-buildx)');
    if (!host.succeeds('docker', ['info'])) missing.push('a running Docker engine this user may use');
  }
  if (!onPath(host, 'kind')) missing.push('kind ≥ 0.27 (https://kind.sigs.k8s.io)');
  if (!onPath(host, 'helm')) missing.push('helm 3 (https://helm.sh/docs/intro/install)');
  return missing;
}

export function ensureKindPrerequisites(host: Host): void {
  const missing = missingForKind(host);
  if (missing.length) throw new PrerequisiteError(`kind's path needs: ${missing.join('; ')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const which = process.argv[2];
  try {
    // `npm run test:e2e` against $KUBECONFIG's cluster (SECUREKEY_E2E_CLUSTER=existing) needs no local one.
    if (which === 'local' && process.env['SECUREKEY_E2E_CLUSTER'] === 'existing') process.exit(0);
    if (which === 'local')
      ensureLocalPrerequisites(realHost, (l) => process.stderr.write(`[prerequisites] ${l}\n`));
    else if (which === 'kind') ensureKindPrerequisites(realHost);
    else throw new PrerequisiteError('usage: node scripts/cluster/prerequisites.ts local|kind');
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}
