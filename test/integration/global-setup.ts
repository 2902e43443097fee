/**
 * Integration tier: one real control plane (etcd + kube-apiserver) for the whole run, with the
 * SecureKey CRD applied. Tests get the kubeconfig path through `inject('kubeconfig')`.
 */
import type { TestProject } from 'vitest/node';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { startControlPlane, type ControlPlane } from '../../scripts/cluster/control-plane.ts';
import { applyCrds } from '../../scripts/cluster/crds.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterCaPem: string;
  }
}

let plane: ControlPlane | undefined;

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  plane = await startControlPlane({ keep: process.env['SECUREKEY_KEEP_CLUSTER'] === '1' });
  const http = KubeHttp.fromFile(plane.kubeconfigPath);
  try {
    await applyCrds(http);
  } finally {
    http.close();
  }
  project.provide('kubeconfig', plane.kubeconfigPath);
  project.provide('clusterCaPem', plane.pki.ca.certPem);
  process.stdout.write(
    `control plane ready in ${Date.now() - started} ms at ${plane.server} (${plane.dir})\n`,
  );
}

export async function teardown(): Promise<void> {
  await plane?.stop();
}
