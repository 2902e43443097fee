/**
 * The cluster SecureKey is installed on by the e2e specs and `npm run demo`, one interface for both kinds:
 * - `local` (CI, default): the local cluster of scripts/cluster — control plane advertised on the node IP,
 *   a node with kube-proxy and CoreDNS — with the images built by scripts/build-images.sh and imported;
 * - `existing` (kind, via test/e2e/kind.sh): `SECUREKEY_E2E_CLUSTER=existing`, the cluster of $KUBECONFIG,
 *   images already loaded and named by `SECUREKEY_E2E_IMAGE_REPO` / `SECUREKEY_E2E_IMAGE_TAG`.
 * Either way the specs install the chart with the real Helm and talk only to the API server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { ensureBinaries } from './binaries.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { buildImages, type ImageName } from './images.ts';
import { buildPauseImage, nodeIp, startNode, type ClusterNode } from './node.ts';
import { clusterEventually as eventually } from './eventually.ts';

export interface TargetCluster {
  kind: 'local' | 'existing';
  kubeconfig: string;
  http: KubeHttp;
  /** Image references by name (repository:tag), present on the node(s). */
  images: Record<ImageName, { repository: string; tag: string; ref: string }>;
  helm(args: string[]): string;
  /** A container's log through the API server (kubelet), '' when it has none yet. */
  logs(namespace: string, pod: string, container: string): Promise<string>;
  stop(): Promise<void>;
}

const NAMES: ImageName[] = ['operator', 'agent', 'simulators'];

function splitRef(ref: string): { repository: string; tag: string; ref: string } {
  const at = ref.lastIndexOf(':');
  return { repository: ref.slice(0, at), tag: ref.slice(at + 1), ref };
}

function helmRunner(bin: string, kubeconfig: string): (args: string[]) => string {
  return (args) =>
    execFileSync(bin, args, {
      encoding: 'utf8',
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
}

function logsVia(http: KubeHttp): TargetCluster['logs'] {
  return async (namespace, pod, container) => {
    const res = await http.request<unknown>('GET', `/api/v1/namespaces/${namespace}/pods/${pod}/log`, {
      query: { container },
    });
    if (res.status !== 200) return '';
    return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  };
}

export async function startTargetCluster(): Promise<TargetCluster> {
  return process.env['SECUREKEY_E2E_CLUSTER'] === 'existing' ? existingCluster() : localCluster();
}

function existingCluster(): TargetCluster {
  const kubeconfig = process.env['KUBECONFIG'];
  if (!kubeconfig) throw new Error('SECUREKEY_E2E_CLUSTER=existing needs KUBECONFIG');
  const repo = process.env['SECUREKEY_E2E_IMAGE_REPO'] ?? 'localhost/securekey';
  const tag = process.env['SECUREKEY_E2E_IMAGE_TAG'] ?? '0.1.0';
  const http = KubeHttp.fromFile(kubeconfig);
  return {
    kind: 'existing',
    kubeconfig,
    http,
    images: Object.fromEntries(
      NAMES.map((n) => [n, splitRef(`${repo}/${n}:${tag}`)]),
    ) as TargetCluster['images'],
    helm: helmRunner(process.env['HELM'] ?? 'helm', kubeconfig),
    logs: logsVia(http),
    stop: async () => http.close(),
  };
}

async function localCluster(): Promise<TargetCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-e2e-'));
  let plane: ControlPlane | undefined;
  let node: ClusterNode | undefined;
  try {
    plane = await startControlPlane({ advertiseAddress: nodeIp() });
    const pause = buildPauseImage(dir);
    const built = buildImages(NAMES);
    node = await startNode({
      plane,
      dir,
      images: [pause.archive, ...NAMES.map((n) => built[n].archive)],
      pauseImage: pause.ref,
      services: true,
    });
    const http = KubeHttp.fromFile(plane.kubeconfigPath);
    await eventually(
      async () =>
        (await http.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
      60_000,
      'the default service account',
    );
    const [p, n] = [plane, node];
    return {
      kind: 'local',
      kubeconfig: plane.kubeconfigPath,
      http,
      images: Object.fromEntries(
        NAMES.map((name) => [name, splitRef(built[name].ref)]),
      ) as TargetCluster['images'],
      helm: helmRunner(path.join(ensureBinaries(['helm']), 'helm'), plane.kubeconfigPath),
      logs: logsVia(http),
      stop: async () => {
        http.close();
        await n.stop();
        await p.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await node?.stop();
    await plane?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
