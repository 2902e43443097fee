/**
 * The operator's opt-in pod caches, scoped to the namespaces that hold a SecureKey: pods elsewhere are
 * never listed, watched, parsed or digested, however many there are or however large their annotations
 * (docs/adr/0030-pod-caches-per-namespace.md). One informer per such namespace, up to `maxNamespaces`;
 * past that, one cluster-wide informer (one watch instead of a connection per namespace) for the rest of
 * the process's life. With a fixed namespace (SECUREKEY_NAMESPACE) there is one informer on it.
 */
import type { LabelSelector } from '../../core/api/securekey.generated.ts';
import type { ObservedPod } from '../../core/workload/index.ts';
import { Informer, type InformerOptions } from '../../edge/kube/informer.ts';

export type PodInformerOptions = Omit<InformerOptions<ObservedPod>, 'path' | 'name'>;

/**
 * List pages of about this many bytes (estimated from the annotations of the page before): a page is
 * held as bytes, as text and as objects while it is parsed, and garbage of a few pages lingers until V8
 * collects it. 500 pods with 256 KiB annotations made one 125 MiB page; 50 a page still peaked at
 * 259 MiB resident against the chart's 256 MiB limit; ~4 MiB pages (15 such pods, 400 ordinary ones)
 * keep the list's transient memory to a few pages of that.
 */
export const POD_PAGE_BYTES = 4 * 1024 * 1024;
/** Pods a page asks for at most (ordinary pods, ~10 KiB each). */
export const POD_PAGE_SIZE = 500;

/** Beyond this many namespaces with SecureKeys, one cluster-wide watch is cheaper than one each. */
export const MAX_POD_NAMESPACES = 16;

function podsPath(namespace: string | undefined): string {
  return namespace === undefined
    ? '/api/v1/pods'
    : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
}

export class PodCaches {
  private readonly o: PodInformerOptions;
  private readonly fixed: boolean;
  private readonly maxNamespaces: number;
  private readonly byNamespace = new Map<string, Informer<ObservedPod>>();
  private clusterWide: Informer<ObservedPod> | undefined;
  private started = false;
  /**
   * namespace → "label=value" → pod key → pod: a reconcile takes the pods its matchLabels name instead
   * of scanning the namespace (1,000 keys over 10,000 pods: ~5 ms a reconcile saved, on two cores).
   */
  private readonly byLabel = new Map<string, Map<string, Map<string, ObservedPod>>>();

  constructor(o: PodInformerOptions, scope: { namespace?: string; maxNamespaces?: number } = {}) {
    this.o = {
      pageSize: POD_PAGE_SIZE,
      pageBytes: POD_PAGE_BYTES,
      ...o,
      onEvent: (type, pod, old) => {
        if (old !== undefined) this.unindex(old);
        if (type !== 'delete') this.index(pod);
        else this.unindex(pod);
        o.onEvent(type, pod, old);
      },
    };
    this.fixed = scope.namespace !== undefined;
    this.maxNamespaces = scope.maxNamespaces ?? MAX_POD_NAMESPACES;
    if (scope.namespace !== undefined) this.byNamespace.set(scope.namespace, this.informer(scope.namespace));
  }

  /** Namespaces watched one by one (empty once cluster-wide). */
  get namespaces(): string[] {
    return [...this.byNamespace.keys()].sort();
  }

  get isClusterWide(): boolean {
    return this.clusterWide !== undefined;
  }

  /** A SecureKey exists in `namespace`: cache its pods. */
  want(namespace: string): void {
    if (this.fixed || this.clusterWide || this.byNamespace.has(namespace)) return;
    if (this.byNamespace.size >= this.maxNamespaces) {
      this.goClusterWide();
      return;
    }
    const informer = this.informer(namespace);
    this.byNamespace.set(namespace, informer);
    if (this.started) informer.start();
  }

  /** The last SecureKey of `namespace` is gone: stop watching its pods and drop them. */
  unwant(namespace: string): void {
    if (this.fixed || this.clusterWide) return;
    const informer = this.byNamespace.get(namespace);
    if (!informer) return;
    this.byNamespace.delete(namespace);
    this.byLabel.delete(namespace);
    void informer.stop();
  }

  /** The pods of `namespace` are listed (a reconcile before that would see none and drop digests). */
  synced(namespace: string): boolean {
    if (this.clusterWide?.hasSynced()) return true;
    return this.byNamespace.get(namespace)?.hasSynced() ?? false;
  }

  hasSynced(): boolean {
    return this.all().every((i) => i.hasSynced());
  }

  byIndex(namespace: string): ObservedPod[] {
    if (this.clusterWide?.hasSynced()) return this.clusterWide.byIndex(namespace);
    return this.byNamespace.get(namespace)?.byIndex(namespace) ?? [];
  }

  /**
   * The pods of `namespace` that `selector` may select: those carrying the rarest of its matchLabels,
   * or all of them (a selector of expressions only). The caller still applies the whole selector.
   */
  candidates(namespace: string, selector: LabelSelector | undefined): ObservedPod[] {
    const pairs = Object.entries(selector?.matchLabels ?? {});
    if (pairs.length === 0) return this.byIndex(namespace);
    const labels = this.byLabel.get(namespace);
    let smallest: Map<string, ObservedPod> | undefined;
    for (const [k, v] of pairs) {
      const bucket = labels?.get(`${k}=${v}`);
      if (bucket === undefined) return [];
      if (smallest === undefined || bucket.size < smallest.size) smallest = bucket;
    }
    return [...smallest!.values()];
  }

  private index(pod: ObservedPod): void {
    let labels = this.byLabel.get(pod.namespace);
    if (!labels) this.byLabel.set(pod.namespace, (labels = new Map()));
    for (const [k, v] of Object.entries(pod.labels)) {
      const label = `${k}=${v}`;
      let bucket = labels.get(label);
      if (!bucket) labels.set(label, (bucket = new Map()));
      bucket.set(pod.name, pod);
    }
  }

  private unindex(pod: ObservedPod): void {
    const labels = this.byLabel.get(pod.namespace);
    if (!labels) return;
    for (const [k, v] of Object.entries(pod.labels)) {
      const label = `${k}=${v}`;
      const bucket = labels.get(label);
      if (bucket?.get(pod.name) === pod || bucket?.get(pod.name)?.uid === pod.uid) bucket!.delete(pod.name);
      if (bucket?.size === 0) labels.delete(label);
    }
  }

  get size(): number {
    return this.clusterWide?.hasSynced()
      ? this.clusterWide.size
      : [...this.byNamespace.values()].reduce((n, i) => n + i.size, 0);
  }

  health(): true | string {
    for (const informer of this.all()) {
      const h = informer.health();
      if (h !== true) return h;
    }
    return true;
  }

  start(): void {
    this.started = true;
    for (const informer of this.all()) informer.start();
  }

  relistNow(): void {
    for (const informer of this.all()) informer.relistNow();
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(this.all().map((i) => i.stop()));
  }

  private all(): Informer<ObservedPod>[] {
    return [...this.byNamespace.values(), ...(this.clusterWide ? [this.clusterWide] : [])];
  }

  private informer(namespace: string | undefined, onSynced?: () => void): Informer<ObservedPod> {
    return new Informer<ObservedPod>({
      ...this.o,
      name: 'pods',
      path: podsPath(namespace),
      onRelist: (n, ms) => {
        onSynced?.();
        this.o.onRelist?.(n, ms);
      },
    });
  }

  /** The namespace informers keep serving until the cluster-wide one has listed, then stop. */
  private goClusterWide(): void {
    const informer = this.informer(undefined, () => {
      for (const [ns, old] of this.byNamespace) {
        this.byNamespace.delete(ns);
        void old.stop();
      }
    });
    this.clusterWide = informer;
    if (this.started) informer.start();
  }
}
