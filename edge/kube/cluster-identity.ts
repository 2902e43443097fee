/**
 * A cluster's identity for SecureKey's key owner tags: the uid of its kube-system namespace, which
 * exists in every cluster, is made once with the cluster and never changes, and differs between
 * clusters. The operator and `securekey adopt` read it the same way (docs/adr/0028).
 */
import { KubeApiError } from './errors.ts';
import type { KubeHttp } from './kube-http.ts';

export const CLUSTER_IDENTITY_NAMESPACE = 'kube-system';

export async function readClusterId(http: KubeHttp): Promise<string> {
  const path = `/api/v1/namespaces/${CLUSTER_IDENTITY_NAMESPACE}`;
  const ns = await http.expect<{ metadata?: { uid?: string } }>('GET', path, [200]);
  const uid = ns.metadata?.uid;
  if (!uid) throw new KubeApiError('bad-response', `GET ${path}: the namespace has no metadata.uid`);
  return uid;
}
