import { describe, expect, it } from 'vitest';
import type { KubeHttp, WatchOptions } from '../../edge/kube/kube-http.ts';
import { trimPod } from '../../core/workload/index.ts';
import { secureKey } from '../../test/support/reconcile.ts';
import { eventually } from '../../scripts/cluster/eventually.ts';
import { MIN_PAGE_SIZE } from '../../edge/kube/informer.ts';
import { PodCaches } from './pod-caches.ts';
import { SecureKeyController } from './secure-key-controller.ts';

/** An API server in memory: lists pods and SecureKeys, holds watches open, records what was asked. */
class FakeApi {
  readonly lists: Array<{ path: string; limit: unknown }> = [];
  readonly watches: string[] = [];
  secureKeys: Record<string, unknown>[] = [];
  pods: Record<string, unknown>[] = [];

  http(): KubeHttp {
    return {
      expect: async (
        _method: string,
        path: string,
        _ok: number[],
        o: { query?: Record<string, unknown> },
      ) => {
        this.lists.push({ path, limit: o.query?.['limit'] });
        const ns = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path)?.[1];
        const items = path.includes('securekeys')
          ? this.secureKeys
          : this.pods.filter(
              (p) => ns === undefined || (p['metadata'] as { namespace: string }).namespace === ns,
            );
        return { metadata: { resourceVersion: '10' }, items };
      },
      watch: (path: string, o: WatchOptions) => {
        this.watches.push(path);
        return new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve()));
      },
    } as unknown as KubeHttp;
  }
}

function pod(namespace: string, name: string): Record<string, unknown> {
  return {
    metadata: { namespace, name, uid: `${namespace}-${name}`, resourceVersion: '5', labels: { app: 'x' } },
  };
}

function sk(namespace: string, name: string): Record<string, unknown> {
  const s = secureKey();
  return { ...s, metadata: { ...s.metadata, namespace, name, resourceVersion: '7' } } as Record<
    string,
    unknown
  >;
}

const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

describe('SecureKeyController pod caches', () => {
  it('lists and watches pods only in namespaces that hold a SecureKey, small pages first', async () => {
    const api = new FakeApi();
    api.secureKeys = [sk('shop', 'a'), sk('shop', 'b'), sk('bank', 'c')];
    api.pods = [pod('shop', 'p1'), pod('bank', 'p2'), pod('noise', 'p3'), pod('noise', 'p4')];
    const controller = new SecureKeyController({
      http: api.http(),
      now: () => new Date(),
    } as unknown as ConstructorParameters<typeof SecureKeyController>[0]);
    controller.start();
    try {
      await eventually(() =>
        expect(controller.secureKeys.hasSynced() && controller.pods.hasSynced()).toBe(true),
      );
      const podLists = api.lists.filter((l) => l.path.endsWith('/pods'));
      expect(podLists.map((l) => l.path).sort()).toEqual([podsPath('bank'), podsPath('shop')]);
      // Pages are sized by bytes: the first asks for a few pods, later ones for what fits.
      expect(podLists.every((l) => l.limit === MIN_PAGE_SIZE)).toBe(true);
      expect(api.watches.filter((p) => p.endsWith('/pods')).sort()).toEqual([
        podsPath('bank'),
        podsPath('shop'),
      ]);
      expect(controller.pods.byIndex('shop').map((p) => p.name)).toEqual(['p1']);
      expect(controller.pods.byIndex('noise')).toEqual([]);
      expect(controller.pods.size).toBe(2);
    } finally {
      await controller.stop();
    }
  });
});

describe('PodCaches', () => {
  const options = (api: FakeApi) => ({
    http: api.http(),
    trim: (o: Record<string, unknown>) => trimPod(o),
    indexOf: (p: { namespace: string }) => p.namespace,
    onEvent: () => {},
  });

  it('stops watching a namespace whose last SecureKey is gone, and drops its pods', async () => {
    const api = new FakeApi();
    api.pods = [pod('shop', 'p1')];
    const caches = new PodCaches(options(api));
    caches.start();
    caches.want('shop');
    await eventually(() => expect(caches.synced('shop')).toBe(true));
    expect(caches.byIndex('shop')).toHaveLength(1);
    caches.unwant('shop');
    expect(caches.namespaces).toEqual([]);
    expect(caches.byIndex('shop')).toEqual([]);
    expect(caches.synced('shop')).toBe(false);
    await caches.stop();
  });

  it('past its bound of namespaces, swaps them for one cluster-wide watch once that has listed', async () => {
    const api = new FakeApi();
    api.pods = [pod('n0', 'p0'), pod('n1', 'p1'), pod('n2', 'p2')];
    const caches = new PodCaches(options(api), { maxNamespaces: 2 });
    caches.start();
    caches.want('n0');
    caches.want('n1');
    await eventually(() => expect(caches.hasSynced()).toBe(true));
    caches.want('n2');
    expect(caches.isClusterWide).toBe(true);
    await eventually(() => expect(caches.namespaces).toEqual([]));
    expect(api.lists.map((l) => l.path)).toContain('/api/v1/pods');
    expect(caches.byIndex('n2').map((p) => p.name)).toEqual(['p2']);
    expect(caches.synced('n0')).toBe(true);
    await caches.stop();
  });

  it('hands a reconcile the pods its matchLabels name, following relabels and deletions', async () => {
    const api = new FakeApi();
    const labelled = (name: string, app: string, tier = 'web') => ({
      ...pod('shop', name),
      metadata: { ...(pod('shop', name)['metadata'] as object), labels: { app, tier } },
    });
    api.pods = [labelled('a1', 'a'), labelled('a2', 'a', 'db'), labelled('b1', 'b')];
    const events: string[] = [];
    const caches = new PodCaches({ ...options(api), onEvent: (type, p) => events.push(`${type} ${p.name}`) });
    caches.start();
    caches.want('shop');
    await eventually(() => expect(caches.synced('shop')).toBe(true));
    const names = (selector: Parameters<PodCaches['candidates']>[1]) =>
      caches
        .candidates('shop', selector)
        .map((p) => p.name)
        .sort();
    expect(names({ matchLabels: { app: 'a' } })).toEqual(['a1', 'a2']);
    expect(names({ matchLabels: { app: 'a', tier: 'db' } })).toEqual(['a2']);
    expect(names({ matchLabels: { app: 'c' } })).toEqual([]);
    expect(names({ matchExpressions: [{ key: 'app', operator: 'Exists' }] })).toEqual(['a1', 'a2', 'b1']);
    expect(names(undefined)).toEqual(['a1', 'a2', 'b1']);
    // The informer's events keep the index: a relabelled pod moves, a deleted one leaves.
    const informer = (
      caches as unknown as { byNamespace: Map<string, { apply(e: unknown): void }> }
    ).byNamespace.get('shop')!;
    informer.apply({
      type: 'MODIFIED',
      object: {
        ...labelled('a1', 'b'),
        metadata: { ...(labelled('a1', 'b')['metadata'] as object), resourceVersion: '6' },
      },
    });
    informer.apply({ type: 'DELETED', object: labelled('a2', 'a', 'db') });
    expect(names({ matchLabels: { app: 'a' } })).toEqual([]);
    expect(names({ matchLabels: { app: 'b' } })).toEqual(['a1', 'b1']);
    expect(events).toContain('update a1');
    await caches.stop();
  });

  it('watches only its namespace when given one', async () => {
    const api = new FakeApi();
    const caches = new PodCaches(options(api), { namespace: 'shop' });
    caches.start();
    caches.want('bank');
    await eventually(() => expect(caches.hasSynced()).toBe(true));
    expect(api.lists.map((l) => l.path)).toEqual([podsPath('shop')]);
    await caches.stop();
  });
});
