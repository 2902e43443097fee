/** The prerequisite checks of scripts/cluster/prerequisites.ts against a machine described in the spec. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ensureKindPrerequisites,
  ensureLocalPrerequisites,
  missingForKind,
  missingLocalPackages,
  PrerequisiteError,
  type Host,
} from '../../scripts/cluster/prerequisites.ts';

const LOCAL_TOOLS = [
  'containerd',
  'ctr',
  'runc',
  'buildah',
  'iptables',
  'gcc',
  'swtpm',
  'swtpm_setup',
  'tpm2_nvread',
  'go',
];
const LOCAL_FILES = ['/usr/lib/cni/bridge', '/usr/include/stdio.h'];
/** What each Debian package brings, for a fake apt-get. */
const BRINGS: Record<string, string[]> = {
  containerd: ['containerd', 'ctr'],
  runc: ['runc'],
  'containernetworking-plugins': ['/usr/lib/cni/bridge'],
  buildah: ['buildah'],
  iptables: ['iptables'],
  gcc: ['gcc'],
  'libc6-dev': ['/usr/include/stdio.h'],
  swtpm: ['swtpm'],
  'swtpm-tools': ['swtpm_setup'],
  'tpm2-tools': ['tpm2_nvread'],
};

function machine(present: string[], isRoot: boolean, aptWorks = true) {
  const has = new Set(present);
  const ran: string[][] = [];
  const host: Host = {
    isRoot,
    exists: (file) => has.has(file),
    succeeds: (cmd, args) => {
      if (cmd === 'sh') return has.has(args[1]!.replace('command -v ', ''));
      if (cmd === 'docker' && args[0] === 'buildx') return has.has('docker buildx');
      if (cmd === 'docker' && args[0] === 'info') return has.has('docker engine');
      throw new Error(`unexpected ${cmd} ${args.join(' ')}`);
    },
    run: (cmd, args) => {
      ran.push([cmd, ...args]);
      if (aptWorks && args.includes('install'))
        for (const p of args) for (const t of BRINGS[p] ?? []) has.add(t);
    },
  };
  return { host, ran };
}

afterEach(() => vi.unstubAllEnvs());

describe('local cluster prerequisites', () => {
  it('names the Debian package of each missing tool', () => {
    expect(missingLocalPackages(machine([...LOCAL_TOOLS, ...LOCAL_FILES], true).host)).toEqual([]);
    expect(missingLocalPackages(machine(['containerd', 'runc', 'go'], true).host)).toEqual([
      'containerd', // ctr is missing
      'containernetworking-plugins',
      'buildah',
      'iptables',
      'gcc',
      'libc6-dev',
      'swtpm',
      'swtpm-tools',
      'tpm2-tools',
    ]);
  });

  it('not root: the exact apt-get command, nothing installed', () => {
    const { host, ran } = machine(
      LOCAL_TOOLS.filter((t) => t !== 'buildah').concat(LOCAL_FILES.slice(1)),
      false,
    );
    expect(() => ensureLocalPrerequisites(host, () => {})).toThrow(
      new PrerequisiteError(
        "the local cluster needs root and Debian packages: sudo sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive " +
          "apt-get install -y --no-install-recommends containernetworking-plugins buildah', then run it as root",
      ),
    );
    expect(ran).toEqual([]);
  });

  it('not root with every package: still refused, naming root', () => {
    const { host } = machine([...LOCAL_TOOLS, ...LOCAL_FILES], false);
    expect(() => ensureLocalPrerequisites(host, () => {})).toThrow(/needs root/);
  });

  it('root: installs what is missing with apt-get, and says so', () => {
    const { host, ran } = machine(['containerd', 'ctr', 'runc', 'go', ...LOCAL_FILES], true);
    const lines: string[] = [];
    ensureLocalPrerequisites(host, (l) => lines.push(l));
    expect(ran).toEqual([
      ['apt-get', 'update'],
      [
        'env',
        'DEBIAN_FRONTEND=noninteractive',
        'apt-get',
        'install',
        '-y',
        '--no-install-recommends',
        'buildah',
        'iptables',
        'gcc',
        'swtpm',
        'swtpm-tools',
        'tpm2-tools',
      ],
    ]);
    expect(lines).toEqual([
      'installing what the local cluster needs: buildah iptables gcc swtpm swtpm-tools tpm2-tools',
    ]);
    expect(missingLocalPackages(host)).toEqual([]);
  });

  it('root: an install that leaves packages missing is an error', () => {
    const { host } = machine(['go'], true, false);
    expect(() => ensureLocalPrerequisites(host, () => {})).toThrow(/still missing after apt-get: containerd/);
  });

  it('Go is named (Debian’s is too old to install), unless the binaries are given', () => {
    const { host, ran } = machine(LOCAL_TOOLS.filter((t) => t !== 'go').concat(LOCAL_FILES), true);
    vi.stubEnv('SECUREKEY_K8S_BIN', '');
    expect(() => ensureLocalPrerequisites(host, () => {})).toThrow(/Go ≥ 1\.21 is needed once/);
    vi.stubEnv('SECUREKEY_K8S_BIN', '/opt/k8s/bin');
    expect(() => ensureLocalPrerequisites(host, () => {})).not.toThrow();
    expect(ran).toEqual([]);
  });
});

describe('kind prerequisites', () => {
  it('names each missing piece; buildx and the engine only once docker is there', () => {
    expect(missingForKind(machine([], false).host)).toEqual([
      'docker (https://docs.docker.com/engine/install)',
      'kind ≥ 0.27 (https://kind.sigs.k8s.io)',
      'helm 3 (https://helm.sh/docs/intro/install)',
    ]);
    const withoutBuildx = machine(['docker', 'docker engine', 'kind', 'helm'], false).host;
    expect(() => ensureKindPrerequisites(withoutBuildx)).toThrow(
      "kind's path needs: the docker buildx plugin (Debian/Ubuntu: docker-buildx-plugin or docker-buildx)",
    );
    expect(missingForKind(machine(['docker', 'docker buildx', 'kind', 'helm'], false).host)).toEqual([
      'a running Docker engine this user may use',
    ]);
    expect(
      missingForKind(machine(['docker', 'docker buildx', 'docker engine', 'kind', 'helm'], false).host),
    ).toEqual([]);
  });
});
