/** Applies crds/*.yaml to a control plane and waits until each is Established. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { rawRequest } from '../support/kube.ts';
import { repoRoot } from '../support/paths.ts';

export async function applyCrds(kc: KubeConfig): Promise<void> {
  await applyCrd(kc, path.join(repoRoot, 'crds/securekey.yaml'));
}

async function applyCrd(kc: KubeConfig, file: string): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = parse(readFileSync(file, 'utf8')) as V1CustomResourceDefinition;
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
