/**
 * A real Kubernetes control plane on loopback for tests: etcd and kube-apiserver built from upstream
 * (scripts/setup-k8s.sh), generated certificates, service-account signing keys, RBAC authorisation,
 * and a kubeconfig for an admin in system:masters. Later tiers add kubelet and friends here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ensureBinaries } from './binaries.ts';
import { createClusterPki, type ClusterPki } from './pki.ts';
import { freePort } from './ports.ts';

/** The Services' ClusterIP range (the `kubernetes` Service is its first address). */
export const SERVICE_CIDR = '10.96.0.0/16';

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  server: string;
  kubeconfigPath: string;
  dir: string;
  pki: ClusterPki;
  serviceAccountIssuer: string;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Keep the data directory after stop (for debugging). */
  keep?: boolean;
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  log?: (line: string) => void;
  /**
   * Serve pods too: listen on every address and advertise this one (the node IP), so the `kubernetes`
   * Service — through kube-proxy — leads pods to the API server. Default: loopback only.
   */
  advertiseAddress?: string;
}

function startProcess(bin: string, args: string[], logFile: string): ChildProcess {
  const out = createWriteStream(logFile);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

function get(url: string, pki: ClusterPki): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem, timeout: 2000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function waitUntil(
  what: string,
  child: ChildProcess,
  logFile: string,
  probe: () => Promise<boolean>,
  ms: number,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}; see ${logFile}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready after ${ms} ms; see ${logFile}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const bin = ensureBinaries(['etcd', 'kube-apiserver']);
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-cp-'));
  const advertise = options.advertiseAddress;
  const pki = createClusterPki(advertise ? [advertise] : []);
  const kubeletClient = advertise
    ? pki.issue({ cn: 'kube-apiserver-kubelet-client', orgs: ['system:masters'] }, 'client')
    : undefined;
  const file = (name: string, content: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  const caFile = file('ca.crt', pki.ca.certPem);
  const saKey = file('sa.key', pki.serviceAccount.privatePem);
  const saPub = file('sa.pub', pki.serviceAccount.publicPem);
  const tlsCert = file('apiserver.crt', pki.apiserver.certPem);
  const tlsKey = file('apiserver.key', pki.apiserver.keyPem);
  mkdirSync(path.join(dir, 'etcd'), { mode: 0o700 });

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdLog = path.join(dir, 'etcd.log');
  const etcd = startProcess(
    path.join(bin, 'etcd'),
    [
      '--data-dir',
      path.join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--quota-backend-bytes',
      String(2 * 1024 ** 3),
    ],
    etcdLog,
  );
  const children: ChildProcess[] = [etcd];
  const stopAll = async () => {
    for (const c of children.reverse()) await stopProcess(c);
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'etcd',
      etcd,
      etcdLog,
      async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok,
      30_000,
    );
    log(`etcd ready on 127.0.0.1:${etcdClient}`);

    const issuer = 'https://kubernetes.default.svc.cluster.local';
    const apiLog = path.join(dir, 'kube-apiserver.log');
    const apiserver = startProcess(
      path.join(bin, 'kube-apiserver'),
      [
        '--etcd-servers',
        `http://127.0.0.1:${etcdClient}`,
        '--bind-address',
        advertise ? '0.0.0.0' : '127.0.0.1',
        '--advertise-address',
        advertise ?? '127.0.0.1',
        '--secure-port',
        String(apiPort),
        '--tls-cert-file',
        tlsCert,
        '--tls-private-key-file',
        tlsKey,
        '--client-ca-file',
        caFile,
        '--authorization-mode',
        'Node,RBAC',
        '--service-account-issuer',
        issuer,
        '--service-account-key-file',
        saPub,
        '--service-account-signing-key-file',
        saKey,
        '--api-audiences',
        issuer,
        '--service-cluster-ip-range',
        SERVICE_CIDR,
        '--allow-privileged=true',
        ...(advertise
          ? [
              // `kubectl logs`/`exec`: the API server reaches kubelet by the node's IP, as a client kubelet trusts.
              '--kubelet-preferred-address-types',
              'InternalIP',
              '--kubelet-client-certificate',
              file('kubelet-client.crt', kubeletClient!.certPem),
              '--kubelet-client-key',
              file('kubelet-client.key', kubeletClient!.keyPem),
            ]
          : []),
        '--profiling=false',
        ...(options.apiserverArgs ?? []),
      ],
      apiLog,
    );
    children.push(apiserver);
    const server = `https://127.0.0.1:${apiPort}`;
    await waitUntil(
      'kube-apiserver',
      apiserver,
      apiLog,
      async () => (await get(`${server}/readyz`, pki)).status === 200,
      90_000,
    );
    log(`kube-apiserver ready at ${server}`);

    const kubeconfigPath = file(
      'kubeconfig',
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'securekey-test',
            cluster: { server, 'certificate-authority-data': Buffer.from(pki.ca.certPem).toString('base64') },
          },
        ],
        users: [
          {
            name: 'admin',
            user: {
              'client-certificate-data': Buffer.from(pki.admin.certPem).toString('base64'),
              'client-key-data': Buffer.from(pki.admin.keyPem).toString('base64'),
            },
          },
        ],
        contexts: [{ name: 'securekey-test', context: { cluster: 'securekey-test', user: 'admin' } }],
        'current-context': 'securekey-test',
      }),
    );
    return { server, kubeconfigPath, dir, pki, serviceAccountIssuer: issuer, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
