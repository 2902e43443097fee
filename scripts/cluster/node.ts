/**
 * A worker node for the local cluster (issue 6 groundwork): containerd, runc and the CNI plugins from
 * Debian, kubelet, kube-controller-manager and kube-scheduler built from upstream
 * (scripts/setup-k8s.sh), joined to a control plane from control-plane.ts. Needs root.
 *
 * What this machine needs, learned the hard way (notes in docs/adr/0015-local-cluster-node.md):
 * - cgroups v1 (hybrid): kubelet 1.35+ starts only with `failCgroupV1: false`; containerd 1.6 lacks the
 *   CRI RuntimeConfig call, so kubelet uses its own `cgroupDriver: cgroupfs` (supported until 1.37/1.38);
 * - lowering oom_score_adj is refused here (EPERM), so every pod sandbox failed with runc's "can't get
 *   final child's PID from pipe" until containerd's `restrict_oom_score_adj = true`;
 * - no registry: the pause image (and ours) are built with buildah and imported into containerd;
 * - kubelet refuses a loopback node IP: the first non-loopback IPv4 address is used;
 * - where Docker is installed FORWARD drops by default and pods cannot reach one another: forward.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ensureBinaries } from './binaries.ts';
import { SERVICE_CIDR, type ControlPlane } from './control-plane.ts';
import { acceptClusterForwarding } from './forward.ts';
import { ensureLocalPrerequisites, realHost } from './prerequisites.ts';

export interface NodeOptions {
  plane: ControlPlane;
  /** Working directory (containerd root/state, kubelet root, logs). */
  dir: string;
  name?: string;
  /** docker-archive tarballs to import into containerd's k8s.io namespace (the pause image first). */
  images: string[];
  /** The sandbox (pause) image reference inside those archives. */
  pauseImage: string;
  podCidr?: string;
  /**
   * Cluster Services as kind has them: kube-proxy (iptables) for ClusterIPs — the `kubernetes` Service
   * among them, so the control plane must advertise the node IP — and CoreDNS for `cluster.local`.
   */
  services?: boolean;
  /** Lines worth a reader's attention (default: stderr). */
  log?: (line: string) => void;
}

export interface ClusterNode {
  name: string;
  ip: string;
  containerdSocket: string;
  dir: string;
  stop(): Promise<void>;
}

const POD_CIDR = '10.244.0.0/24';

/**
 * Names each imported `repo:tag` also `repo@sha256:<manifest>`, as a registry pull does: the CRI then
 * resolves pinned references (node mode signs only images pinned by digest, ADR 39) without a registry,
 * and reports that reference as the containers' imageID.
 */
function nameByDigest(socket: string): void {
  const ctr = (args: string[]) =>
    execFileSync('ctr', ['-a', socket, '-n', 'k8s.io', 'images', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const names = new Set(ctr(['ls', '-q']).trim().split('\n'));
  for (const line of ctr(['ls']).trim().split('\n').slice(1)) {
    const [ref, , digest] = line.split(/\s+/);
    const repo = /^(.+):[^:/@]+$/.exec(ref ?? '')?.[1];
    if (!repo || ref!.includes('@') || ref!.startsWith('sha256:') || !digest?.startsWith('sha256:')) continue;
    if (!names.has(`${repo}@${digest}`)) ctr(['tag', ref!, `${repo}@${digest}`]);
  }
}

/** The address kubelet registers (and the API server advertises when pods must reach it). */
export function nodeIp(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('no non-loopback IPv4 address: kubelet refuses a loopback node IP');
}

function start(bin: string, args: string[], log: string): ChildProcess {
  const out = createWriteStream(log);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  ms: number,
  log: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready after ${ms} ms; see ${log}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startNode(o: NodeOptions): Promise<ClusterNode> {
  const log = o.log ?? ((line: string) => process.stderr.write(`[node] ${line}\n`));
  ensureLocalPrerequisites(realHost, log);
  const bin = ensureBinaries(['kubelet', 'kube-controller-manager', 'kube-scheduler']);
  const name = o.name ?? 'securekey-node';
  const ip = nodeIp();
  const dir = o.dir;
  const p = (...parts: string[]) => path.join(dir, ...parts);
  for (const d of ['containerd', 'cni', 'kubelet', 'logs']) mkdirSync(p(d), { recursive: true });
  const socket = p('containerd.sock');
  const planeDir = o.plane.dir;

  writeFileSync(
    p('containerd.toml'),
    [
      'version = 2',
      `root = "${p('containerd', 'root')}"`,
      `state = "${p('containerd', 'state')}"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = "${o.pauseImage}"`,
      '  restrict_oom_score_adj = true',
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    snapshotter = "native"',
      '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '      runtime_type = "io.containerd.runc.v2"',
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      '    bin_dir = "/usr/lib/cni"',
      `    conf_dir = "${p('cni')}"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    p('cni', '10-securekey.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'securekey',
      plugins: [
        {
          type: 'bridge',
          bridge: 'skbr0',
          isGateway: true,
          ipMasq: true,
          // A pod reaching a Service that leads back to itself (the simulators call their own names).
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: o.podCidr ?? POD_CIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );

  const children: ChildProcess[] = [];
  let undoForward = () => {};
  const stop = async () => {
    for (const c of [...children].reverse()) await stopProcess(c);
    // containerd's shims outlive it: end the pods' processes ("[c]" keeps pkill from matching its own
    // shell), then the mounts kubelet left — the keys' tmpfs among them — then the files.
    const sh = (cmd: string) => {
      try {
        execFileSync('sh', ['-c', cmd], { stdio: 'ignore' });
      } catch {
        // best effort; the next step still runs
      }
    };
    // The pods' processes (pause and containers) are the shims' children: killing only the shims
    // reparented them to init, where they ran on after the cluster — every run's, on this machine.
    sh(`for p in $(pgrep -f '[c]ontainerd-shim.*-address ${socket}'); do pkill -KILL -P "$p"; done`);
    sh(`pkill -f '[c]ontainerd-shim.*-address ${socket}'`);
    sh(`grep ' ${dir}' /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l`);
    sh(`rm -rf '${p('kubelet')}' '${p('containerd')}'`);
    // kube-proxy's chains outlive it.
    if (o.services) sh(`'${path.join(ensureBinaries(['kube-proxy']), 'kube-proxy')}' --cleanup`);
    undoForward();
  };
  try {
    undoForward = acceptClusterForwarding(
      (args) => execFileSync('iptables', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      { pods: o.podCidr ?? POD_CIDR, services: SERVICE_CIDR },
      log,
    );
    const containerdLog = p('logs', 'containerd.log');
    children.push(start('containerd', ['--config', p('containerd.toml')], containerdLog));
    await waitFor('containerd', () => existsSync(socket), 30_000, containerdLog);
    for (const image of o.images) {
      execFileSync('ctr', ['-a', socket, '-n', 'k8s.io', 'images', 'import', image], { stdio: 'ignore' });
    }
    nameByDigest(socket);

    writeFileSync(
      p('kubelet.yaml'),
      stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        containerRuntimeEndpoint: `unix://${socket}`,
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: false },
          x509: { clientCAFile: path.join(planeDir, 'ca.crt') },
        },
        authorization: { mode: 'AlwaysAllow' },
        failSwapOn: false,
        cgroupsPerQOS: false,
        enforceNodeAllocatable: [],
        localStorageCapacityIsolation: false,
        evictionHard: { 'memory.available': '1Mi' },
        resolvConf: '/etc/resolv.conf',
        serializeImagePulls: false,
        address: ip,
        healthzPort: 10248,
        ...(o.services ? { clusterDNS: [ip], clusterDomain: 'cluster.local' } : {}),
      }),
    );
    const kubeletLog = p('logs', 'kubelet.log');
    children.push(
      start(
        path.join(bin, 'kubelet'),
        [
          '--config',
          p('kubelet.yaml'),
          '--kubeconfig',
          o.plane.kubeconfigPath,
          '--root-dir',
          p('kubelet'),
          '--hostname-override',
          name,
          '--node-ip',
          ip,
        ],
        kubeletLog,
      ),
    );
    await waitFor(
      'kubelet',
      async () => (await fetch('http://127.0.0.1:10248/healthz')).ok,
      60_000,
      kubeletLog,
    );

    const cmLog = p('logs', 'kube-controller-manager.log');
    children.push(
      start(
        path.join(bin, 'kube-controller-manager'),
        [
          '--kubeconfig',
          o.plane.kubeconfigPath,
          '--service-account-private-key-file',
          path.join(planeDir, 'sa.key'),
          '--root-ca-file',
          path.join(planeDir, 'ca.crt'),
          '--leader-elect=false',
          '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
          '--secure-port=0',
        ],
        cmLog,
      ),
    );
    const schedLog = p('logs', 'kube-scheduler.log');
    children.push(
      start(
        path.join(bin, 'kube-scheduler'),
        ['--kubeconfig', o.plane.kubeconfigPath, '--leader-elect=false', '--secure-port=0'],
        schedLog,
      ),
    );
    if (o.services) children.push(...(await startServices(o, ip, p)));
    return { name, ip, containerdSocket: socket, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * kube-proxy in iptables mode and CoreDNS on the node IP (kubelet's `clusterDNS`), both as host
 * processes: the Service plumbing pods expect. Service traffic between pods on one bridge is bridged,
 * not routed, so the bridge must pass through iptables for kube-proxy's NAT to be undone on replies.
 */
async function startServices(
  o: NodeOptions,
  ip: string,
  p: (...parts: string[]) => string,
): Promise<ChildProcess[]> {
  const services = ensureBinaries(['kube-proxy', 'coredns']);
  for (const [key, value] of [
    ['net/ipv4/ip_forward', '1'],
    ['net/bridge/bridge-nf-call-iptables', '1'],
  ] as const) {
    writeFileSync(path.join('/proc/sys', key), value);
  }
  const proxyLog = p('logs', 'kube-proxy.log');
  const proxy = start(
    path.join(services, 'kube-proxy'),
    [
      '--kubeconfig',
      o.plane.kubeconfigPath,
      '--proxy-mode',
      'iptables',
      '--cluster-cidr',
      o.podCidr ?? POD_CIDR,
      '--hostname-override',
      o.name ?? 'securekey-node',
      // This VM's conntrack table is not ours to resize.
      '--conntrack-max-per-core',
      '0',
      '--metrics-bind-address',
      '127.0.0.1:10249',
      '--healthz-bind-address',
      '127.0.0.1:10256',
    ],
    proxyLog,
  );
  await waitFor(
    'kube-proxy',
    // Healthy once it has programmed the Service rules (503 until then).
    async () => (await fetch('http://127.0.0.1:10256/healthz')).ok,
    30_000,
    proxyLog,
  );
  writeFileSync(
    p('Corefile'),
    [
      `.:53 {`,
      `  bind ${ip}`,
      `  errors`,
      `  kubernetes cluster.local in-addr.arpa ip6.arpa {`,
      `    kubeconfig ${o.plane.kubeconfigPath}`,
      `    pods insecure`,
      `    fallthrough in-addr.arpa ip6.arpa`,
      `  }`,
      `  forward . /etc/resolv.conf`,
      `  cache 5`,
      `  ready 127.0.0.1:8181`,
      `}`,
      '',
    ].join('\n'),
  );
  const dnsLog = p('logs', 'coredns.log');
  const dns = start(path.join(services, 'coredns'), ['-conf', p('Corefile')], dnsLog);
  await waitFor('coredns', async () => (await fetch('http://127.0.0.1:8181/ready')).ok, 30_000, dnsLog);
  return [proxy, dns];
}

/**
 * The pause image: a static Go binary that waits for a signal, built and packed with buildah (no
 * registry is reachable), as a docker-archive containerd can import.
 */
export function buildPauseImage(
  dir: string,
  ref = 'localhost/securekey/pause:3.10',
): { archive: string; ref: string } {
  const src = path.join(dir, 'pause-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(
    path.join(src, 'main.go'),
    'package main\n\nimport (\n\t"os"\n\t"os/signal"\n\t"syscall"\n)\n\nfunc main() {\n\tc := make(chan os.Signal, 1)\n\tsignal.Notify(c, syscall.SIGTERM, syscall.SIGINT)\n\t<-c\n}\n',
  );
  writeFileSync(path.join(src, 'go.mod'), 'module securekey.local/pause\n\ngo 1.22\n');
  const env = { ...process.env, CGO_ENABLED: '0', PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` };
  execFileSync('go', ['build', '-ldflags', '-s -w', '-o', path.join(src, 'pause'), '.'], {
    cwd: src,
    env,
    stdio: 'ignore',
  });
  const b = (...args: string[]) =>
    execFileSync('buildah', ['--storage-driver', 'vfs', ...args], { encoding: 'utf8' }).trim();
  const ctr = b('from', 'scratch');
  try {
    b('copy', ctr, path.join(src, 'pause'), '/pause');
    b('config', '--entrypoint', '["/pause"]', '--label', 'io.securekey.component=pause', ctr);
    b('commit', ctr, ref);
  } finally {
    b('rm', ctr);
  }
  const archive = path.join(dir, 'pause.tar');
  b('push', ref, `docker-archive:${archive}:${ref}`);
  b('rmi', ref); // only the archive is kept
  return { archive, ref };
}
