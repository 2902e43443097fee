/**
 * Integration tier: one real control plane (etcd + kube-apiserver) for the whole run, with the
 * SecureKey CRD applied. Tests get the kubeconfig path through `inject('kubeconfig')`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiextensionsV1Api, KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import type { TestProject } from 'vitest/node';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from '../cluster/control-plane.ts';
import { rawRequest } from '../support/kube.ts';
import { repoRoot } from '../support/paths.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    clusterCaPem: string;
  }
}

let plane: ControlPlane | undefined;

async function applyCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = parse(
    readFileSync(path.join(repoRoot, 'crds/securekey.yaml'), 'utf8'),
  ) as V1CustomResourceDefinition;
  // Sent raw: client-node's typed serializer maps TypeScript names (xKubernetesValidations, _default)
  // and silently drops wire names such as `x-kubernetes-validations` and `default` from parsed YAML.
  const created = await rawRequest(kc, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    body: crd,
  });
  if (created.status !== 201) throw new Error(`applying the CRD failed: ${JSON.stringify(created.body)}`);
  const name = crd.metadata?.name ?? '';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const got = await api.readCustomResourceDefinition({ name });
    if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`CRD ${name} not established`);
}

export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  plane = await startControlPlane({ keep: process.env['SECUREKEY_KEEP_CLUSTER'] === '1' });
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  await applyCrd(kc);
  project.provide('kubeconfig', plane.kubeconfigPath);
  project.provide('clusterCaPem', plane.pki.ca.certPem);
  process.stdout.write(
    `control plane ready in ${Date.now() - started} ms at ${plane.server} (${plane.dir})\n`,
  );
}

export async function teardown(): Promise<void> {
  await plane?.stop();
}
