/**
 * Wires the caches to the work queue and the queue to the reconciler (cert-manager's generic worker
 * loop): SecureKey and opt-in pod informers enqueue the SecureKeys an event concerns (pods are cached
 * only in namespaces that hold a SecureKey: pod-caches.ts); workers reconcile
 * the latest state per key, forget on success, back off on failure (honouring the vault's Retry-After)
 * and requeue when the reconciler asks.
 *
 * Informers run on every replica so a new leader starts warm; workers run only while leading.
 */
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { Informer } from '../../edge/kube/informer.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { KubeApiError } from '../../edge/kube/errors.ts';
import { allSecureKeysPath } from '../../edge/kube/secure-keys.ts';
import { FirstPolicies, selectorMatches, trimPod, type ObservedPod } from '../../core/workload/index.ts';
import { PodCaches } from './pod-caches.ts';
import { INJECT_LABEL, INJECT_LABEL_VALUE } from '../reconcile/index.ts';
import { VaultCallError } from '../vault/errors.ts';
import { runWorkers, WorkQueue, type WorkQueueOptions } from './queue.ts';
import { keyOf, SecureKeyReconciler, type ReconcilerDeps } from './secure-key-reconciler.ts';

export interface ControllerHooks {
  reconciled?(key: string, seconds: number, outcome: 'success' | 'error' | 'requeue'): void;
  queueDepth?(depth: number): void;
  informerError?(informer: string, err: unknown): void;
  relisted?(informer: string, count: number, ms: number): void;
  forgotKey?(key: string): void;
}

export interface SecureKeyControllerOptions extends Omit<ReconcilerDeps, 'secureKey' | 'remember' | 'pods'> {
  http: KubeHttp;
  /** Watch one namespace; all namespaces (pods: those with SecureKeys) when absent. */
  namespace?: string;
  concurrency?: number;
  queue?: WorkQueueOptions;
  relistIntervalMs?: number;
  staleAfterMs?: number;
  hooks?: ControllerHooks;
}

/** The parts of a SecureKey the operator uses (managedFields and other metadata dropped). */
export function trimSecureKey(obj: Record<string, unknown>): SecureKey {
  const sk = obj as unknown as SecureKey;
  const m = sk.metadata ?? {};
  const metadata: NonNullable<SecureKey['metadata']> = {};
  for (const k of [
    'name',
    'namespace',
    'uid',
    'generation',
    'resourceVersion',
    'deletionTimestamp',
    'finalizers',
  ] as const) {
    if (m[k] !== undefined) (metadata as Record<string, unknown>)[k] = m[k];
  }
  const out: SecureKey = { apiVersion: sk.apiVersion ?? '', kind: sk.kind ?? '', metadata, spec: sk.spec };
  if (sk.status !== undefined) out.status = sk.status;
  return out;
}

function resourceVersionOf(sk: SecureKey | undefined): bigint {
  try {
    return BigInt(sk?.metadata?.resourceVersion ?? '0');
  } catch {
    return 0n; // Opaque by contract; etcd's are integers, and an unreadable one just defers to the cache.
  }
}

/** Only changes that can change what the operator does: spec (generation), deletion, finalizers. */
function meaningfulChange(a: SecureKey, b: SecureKey): boolean {
  const ma = a.metadata ?? {};
  const mb = b.metadata ?? {};
  return (
    ma.generation !== mb.generation ||
    String(ma.deletionTimestamp ?? '') !== String(mb.deletionTimestamp ?? '') ||
    (ma.finalizers ?? []).join() !== (mb.finalizers ?? []).join()
  );
}

export class SecureKeyController {
  readonly secureKeys: Informer<SecureKey>;
  readonly pods: PodCaches;
  /** The current term's queue: a new one each time this replica starts leading (a shut queue stays shut). */
  queue: WorkQueue;
  readonly reconciler: SecureKeyReconciler;
  private readonly o: SecureKeyControllerOptions;
  /** Objects our own writes returned, newer than the informer's until its watch catches up. */
  private readonly written = new Map<string, SecureKey>();
  /** Informer-side: the policy annotations each pod uid was first observed with. */
  private readonly firstPolicies: FirstPolicies;

  constructor(o: SecureKeyControllerOptions) {
    this.o = o;
    this.firstPolicies = new FirstPolicies(() => o.now().getTime());
    this.queue = new WorkQueue(o.queue);
    const common = {
      http: o.http,
      ...(o.relistIntervalMs === undefined ? {} : { relistIntervalMs: o.relistIntervalMs }),
      ...(o.staleAfterMs === undefined ? {} : { staleAfterMs: o.staleAfterMs }),
      onError: (err: unknown) => o.hooks?.informerError?.('unknown', err),
    };
    this.secureKeys = new Informer<SecureKey>({
      ...common,
      name: 'securekeys',
      path: allSecureKeysPath(o.namespace),
      trim: trimSecureKey,
      indexOf: (sk) => sk.metadata?.namespace ?? '',
      onEvent: (type, sk, old) => {
        const namespace = sk.metadata?.namespace ?? '';
        if (type === 'add') this.pods.want(namespace);
        if (type === 'update' && old && !meaningfulChange(old, sk)) return;
        if (type === 'delete') {
          this.written.delete(keyOf(sk));
          this.queue.forget(keyOf(sk));
          o.hooks?.forgotKey?.(keyOf(sk));
          if (this.secureKeys.byIndex(namespace).length === 0) this.pods.unwant(namespace);
        }
        this.queue.add(keyOf(sk));
      },
      onError: (err) => o.hooks?.informerError?.('securekeys', err),
      onRelist: (n, ms) => o.hooks?.relisted?.('securekeys', n, ms),
    });
    this.pods = new PodCaches(
      {
        ...common,
        labelSelector: `${INJECT_LABEL}=${INJECT_LABEL_VALUE}`,
        // A pod whose policy annotations differ from those first seen for its uid is marked here.
        trim: (obj) => this.firstPolicies.observe(trimPod(obj)),
        indexOf: (p) => p.namespace,
        onEvent: (_type, pod, old) => this.podChanged(pod, old),
        onError: (err) => o.hooks?.informerError?.('pods', err),
        onRelist: (n, ms) => {
          this.firstPolicies.prune();
          o.hooks?.relisted?.('pods', n, ms);
        },
      },
      o.namespace === undefined ? {} : { namespace: o.namespace },
    );
    this.reconciler = new SecureKeyReconciler({
      ...o,
      secureKey: (key) => this.freshest(key),
      // A write answers with the whole object (managedFields too): keep what the informer would.
      remember: (sk) => this.written.set(keyOf(sk), trimSecureKey(sk as unknown as Record<string, unknown>)),
      pods: (namespace, selector) => this.pods.candidates(namespace, selector),
    });
  }

  /** A pod event concerns the SecureKeys of its namespace whose selector matches it (before or after). */
  private podChanged(pod: ObservedPod, old: ObservedPod | undefined): void {
    for (const sk of this.secureKeys.byIndex(pod.namespace)) {
      const selector = sk.spec.workloads.podSelector;
      let matches: boolean;
      try {
        matches =
          selectorMatches(selector, pod.labels) ||
          (old !== undefined && selectorMatches(selector, old.labels));
      } catch {
        matches = true; // A bad selector: let the reconcile report it.
      }
      if (matches) this.queue.add(keyOf(sk));
    }
  }

  private freshest(key: string): SecureKey | undefined {
    const cached = this.secureKeys.get(key);
    const mine = this.written.get(key);
    if (cached === undefined) {
      this.written.delete(key);
      return undefined;
    }
    if (mine !== undefined && resourceVersionOf(mine) > resourceVersionOf(cached)) return mine;
    this.written.delete(key);
    return cached;
  }

  /** Starts the caches (every replica). */
  start(): void {
    this.secureKeys.start();
    this.pods.start();
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    while (!(this.secureKeys.hasSynced() && this.pods.hasSynced())) {
      if (signal?.aborted) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Runs the workers until `signal` aborts (leadership lost or shutdown), then lets in-flight work finish. */
  async lead(signal: AbortSignal): Promise<void> {
    await this.waitForSync(signal);
    if (signal.aborted) return;
    const queue = new WorkQueue(this.o.queue);
    this.queue.shutDown();
    this.queue = queue;
    for (const sk of this.secureKeys.list()) queue.add(keyOf(sk));
    const stop = () => queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    await runWorkers(queue, this.o.concurrency ?? 4, (key) => this.process(queue, key));
  }

  private async process(queue: WorkQueue, key: string): Promise<void> {
    const namespace = this.secureKeys.get(key)?.metadata?.namespace;
    if (namespace !== undefined && !this.pods.synced(namespace)) {
      // Its namespace's pods are still being listed: a reconcile now would see none of them.
      queue.addAfter(key, 100);
      return;
    }
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const result = await this.reconciler.reconcile(key);
      queue.forget(key);
      if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      this.o.hooks?.reconciled?.(key, seconds(), 'success');
    } catch (err) {
      const conflict = err instanceof KubeApiError && err.kind === 'conflict';
      this.o.hooks?.reconciled?.(key, seconds(), conflict ? 'requeue' : 'error');
      if (conflict) {
        // Our view was stale: the watch brings the newer object; try again soon, without a penalty.
        queue.addAfter(key, 100);
      } else if (err instanceof VaultCallError && err.retryAfterMs !== undefined) {
        queue.addRateLimited(key, err.retryAfterMs);
      } else {
        queue.addRateLimited(key);
      }
      this.o.log?.(conflict ? 'debug' : 'warn', 'reconcile failed', {
        secureKey: key,
        error: err,
        failures: queue.failures(key),
      });
    } finally {
      this.o.hooks?.queueDepth?.(queue.length);
    }
  }

  health(): true | string {
    const sk = this.secureKeys.health();
    if (sk !== true) return sk;
    return this.pods.health();
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all([this.secureKeys.stop(), this.pods.stop()]);
  }
}
