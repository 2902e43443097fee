/**
 * The operator's Prometheus metrics (docs/adr/0011-operator-observability-and-leadership.md), named once
 * here and fed by the controller's hooks and the vault observer.
 */
import type { ControllerHooks } from './controller/secure-key-controller.ts';
import { registerProcessMetrics, Registry } from './observability/metrics.ts';
import type { VaultCallObserver } from './vault/key-vault.ts';

export interface OperatorMetrics {
  registry: Registry;
  hooks: ControllerHooks;
  observeVault: VaultCallObserver;
  digests(key: string, count: number): void;
  setLeader(leading: boolean): void;
  /** Samples the pod caches' size at each scrape. */
  podsCached(count: () => number): void;
}

export function operatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const reconcileSeconds = registry.histogram({
    name: 'securekey_reconcile_duration_seconds',
    help: 'Time to reconcile one SecureKey, by outcome.',
    labelNames: ['outcome'],
  });
  const reconcileErrors = registry.counter({
    name: 'securekey_reconcile_errors_total',
    help: 'Reconciles that failed and were requeued with backoff.',
    labelNames: [],
  });
  const vaultCalls = registry.counter({
    name: 'securekey_vault_requests_total',
    help: 'Calls to Key Vault / Managed HSM by operation and HTTP status ("error" when unreached).',
    labelNames: ['operation', 'status'],
  });
  const vaultSeconds = registry.histogram({
    name: 'securekey_vault_request_duration_seconds',
    help: 'Latency of calls to Key Vault / Managed HSM by operation.',
    labelNames: ['operation'],
  });
  const digests = registry.gauge({
    name: 'securekey_policy_digests',
    help: 'Digests admitted by the release policy of each SecureKey.',
    labelNames: ['securekey'],
  });
  const queueDepth = registry.gauge({
    name: 'securekey_workqueue_depth',
    help: 'SecureKeys waiting to be reconciled.',
    labelNames: [],
  });
  const informerErrors = registry.counter({
    name: 'securekey_informer_errors_total',
    help: 'List/watch failures by informer (each is retried with backoff).',
    labelNames: ['informer'],
  });
  const relists = registry.counter({
    name: 'securekey_informer_relists_total',
    help: 'Full relists by informer.',
    labelNames: ['informer'],
  });
  const podsCached = registry.gauge({
    name: 'securekey_pods_cached',
    help: 'Opt-in pods held by the pod caches (namespaces with SecureKeys only).',
    labelNames: [],
  });
  const leader = registry.gauge({
    name: 'securekey_leader',
    help: '1 while this replica holds the leader Lease.',
    labelNames: [],
  });
  leader.set({}, 0);
  return {
    registry,
    hooks: {
      reconciled(_key, seconds, outcome) {
        reconcileSeconds.observe({ outcome }, seconds);
        if (outcome === 'error') reconcileErrors.inc({});
      },
      queueDepth: (depth) => queueDepth.set({}, depth),
      informerError: (informer) => informerErrors.inc({ informer }),
      relisted: (informer) => relists.inc({ informer }),
      forgotKey: (key) => digests.remove({ securekey: key }),
    },
    observeVault(operation, status, seconds) {
      vaultCalls.inc({ operation, status });
      vaultSeconds.observe({ operation }, seconds);
    },
    digests: (key, count) => digests.set({ securekey: key }, count),
    setLeader: (leading) => leader.set({}, leading ? 1 : 0),
    podsCached: (count) => registry.onCollect(() => podsCached.set({}, count())),
  };
}
