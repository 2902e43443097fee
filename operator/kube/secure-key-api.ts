/**
 * Writes the operator makes to SecureKeys: status through the status subresource, and its finalizer.
 * Each write carries the resourceVersion it was computed from, so a stale view loses (409) instead of
 * overwriting a newer one; the work queue retries with the fresh object.
 */
import type { SecureKey, SecureKeyStatus } from '../../core/api/securekey.generated.ts';
import { KubeApiError } from '../../edge/kube/errors.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { readSecureKey, secureKeyPath } from '../../edge/kube/secure-keys.ts';

export const FINALIZER = 'securekey.io/cleanup';
const MERGE = 'application/merge-patch+json';

function idOf(sk: SecureKey): { namespace: string; name: string; resourceVersion: string } {
  const m = sk.metadata ?? {};
  return { namespace: m.namespace ?? '', name: m.name ?? '', resourceVersion: m.resourceVersion ?? '' };
}

export class SecureKeyApi {
  private readonly http: KubeHttp;
  private readonly fieldManager: string;

  constructor(http: KubeHttp, fieldManager = 'securekey-operator') {
    this.http = http;
    this.fieldManager = fieldManager;
  }

  async get(namespace: string, name: string): Promise<SecureKey | undefined> {
    return readSecureKey(this.http, namespace, name);
  }

  /** Replaces status (merge patch: null clears members we dropped) if the object is still at `sk`'s version. */
  async writeStatus(sk: SecureKey, status: SecureKeyStatus): Promise<SecureKey> {
    const { namespace, name, resourceVersion } = idOf(sk);
    const old = (sk.status ?? {}) as Record<string, unknown>;
    const patch: Record<string, unknown> = { ...status };
    for (const k of Object.keys(old)) if (!(k in patch)) patch[k] = null;
    return this.http.expect<SecureKey>('PATCH', secureKeyPath(namespace, name, 'status'), [200], {
      body: { metadata: { resourceVersion }, status: patch },
      contentType: MERGE,
      query: { fieldManager: this.fieldManager },
    });
  }

  /** Adds our finalizer, so deletion waits for deletionPolicy to be carried out. */
  async addFinalizer(sk: SecureKey): Promise<SecureKey> {
    const finalizers = sk.metadata?.finalizers ?? [];
    if (finalizers.includes(FINALIZER)) return sk;
    return this.setFinalizers(sk, [...finalizers, FINALIZER]);
  }

  /** Removes our finalizer; the API server then deletes the object. Gone already is fine. */
  async removeFinalizer(sk: SecureKey): Promise<void> {
    const finalizers = sk.metadata?.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    try {
      await this.setFinalizers(
        sk,
        finalizers.filter((f) => f !== FINALIZER),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === 'not-found') return;
      throw err;
    }
  }

  /** Merge patch with the resourceVersion as precondition: a concurrent change makes it 409, not a lost write. */
  private async setFinalizers(sk: SecureKey, finalizers: string[]): Promise<SecureKey> {
    const { namespace, name, resourceVersion } = idOf(sk);
    return this.http.expect<SecureKey>('PATCH', secureKeyPath(namespace, name), [200], {
      body: { metadata: { resourceVersion, finalizers } },
      contentType: MERGE,
      query: { fieldManager: this.fieldManager },
    });
  }
}
