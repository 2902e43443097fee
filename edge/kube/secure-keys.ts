/**
 * Where SecureKeys live in the API (securekey.io, the version core/api generates) and how to read one.
 * The operator writes them (operator/kube/secure-key-api.ts); anything else that watches or reads them
 * (the webhook, tests, a node agent) starts here.
 */
import { GROUP, PLURAL, VERSION, type SecureKey } from '../../core/api/securekey.generated.ts';
import { KubeApiError } from './errors.ts';
import type { KubeHttp } from './kube-http.ts';

export function secureKeyPath(namespace: string, name?: string, sub?: 'status'): string {
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}${sub ? `/${sub}` : ''}`;
}

/** The collection in one namespace, or in all of them (what an informer lists and watches). */
export function allSecureKeysPath(namespace?: string): string {
  return namespace ? secureKeyPath(namespace) : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
}

/** One SecureKey; undefined when it does not exist, a KubeApiError for any other failure. */
export async function readSecureKey(
  http: KubeHttp,
  namespace: string,
  name: string,
): Promise<SecureKey | undefined> {
  const path = secureKeyPath(namespace, name);
  const res = await http.request<SecureKey>('GET', path);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw KubeApiError.fromResponse('GET', path, res.status, res.body);
  return res.body;
}
