/** Applies crds/*.yaml to a control plane and waits until each is Established. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { eventually } from './eventually.ts';
import { repoRoot } from './paths.ts';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface Crd {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export async function applyCrds(http: KubeHttp): Promise<void> {
  await applyCrd(http, path.join(repoRoot, 'crds/securekey.yaml'));
}

async function applyCrd(http: KubeHttp, file: string): Promise<void> {
  const crd = parse(readFileSync(file, 'utf8')) as Crd;
  await http.expect('POST', CRDS, [201], { body: crd });
  const name = crd.metadata.name;
  await eventually(
    async () => {
      const got = await http.expect<Crd>('GET', `${CRDS}/${encodeURIComponent(name)}`, [200]);
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    30_000,
    `CRD ${name} to be Established`,
    200,
  );
}
