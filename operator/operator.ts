/**
 * The operator process, assembled: Kubernetes client, Azure credential, vaults, events, the SecureKey
 * controller, leader election, and the ops server (/metrics, /healthz, /readyz). `startOperator`
 * returns once the ops server listens and the caches are starting; `stop()` shuts down in order
 * (stop leading and let in-flight reconciles finish, release the Lease, stop watches, close the server).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { TokenCredential } from '@azure/identity';
import { clientSecretCredential, workloadIdentityCredential } from '../edge/azure/index.ts';
import type { OperatorConfig } from './config.ts';
import { SecureKeyController } from './controller/secure-key-controller.ts';
import { ApprovalCache } from './controller/approval-cache.ts';
import { EventRecorder } from './kube/event-recorder.ts';
import { KubeHttp } from '../edge/kube/kube-http.ts';
import { defaultKubeAccess, type KubeAccess } from '../edge/kube/kubeconfig.ts';
import { LeaderElector } from '../edge/kube/leader-lease.ts';
import { readClusterId } from '../edge/kube/cluster-identity.ts';
import { KubeApiError } from '../edge/kube/errors.ts';
import { SecureKeyApi } from './kube/secure-key-api.ts';
import type { Logger } from '../edge/log/log.ts';
import { startOpsServer } from './observability/ops-server.ts';
import { operatorMetrics } from './operator-metrics.ts';
import { Vaults } from './vault/vaults.ts';
import { runWebhook } from './webhook/run-webhook.ts';

export interface RunningOperator {
  controller: SecureKeyController;
  /** http://host:port of the ops server. */
  opsUrl: string;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export interface StartOperatorOptions {
  config: OperatorConfig;
  log: Logger;
  /** Defaults to $KUBECONFIG / ~/.kube/config / in-cluster. */
  kubeAccess?: KubeAccess;
  /** Identity settings resolved by the caller (the embedded sandbox supplies its own). */
  credential?: TokenCredential;
  caPem?: string;
}

function credentialFor(config: OperatorConfig, caPem: string | undefined): TokenCredential {
  const id = config.identity;
  const ca = caPem === undefined ? {} : { caPem };
  const authority = 'authorityHost' in id && id.authorityHost ? { authorityHost: id.authorityHost } : {};
  switch (id.type) {
    case 'workload-identity':
      return workloadIdentityCredential({
        tenantId: id.tenantId,
        clientId: id.clientId,
        tokenFilePath: id.tokenFile,
        ...authority,
        ...ca,
      });
    case 'client-secret':
      return clientSecretCredential({
        tenantId: id.tenantId,
        clientId: id.clientId,
        clientSecret: id.clientSecret,
        ...authority,
        ...ca,
      });
    case 'sandbox':
      throw new Error('the sandbox identity is resolved by the caller (operator/main.ts)');
  }
}

/** The kube-system namespace's uid; a start that cannot read it says how to configure one instead. */
async function clusterIdentity(http: KubeHttp): Promise<string> {
  try {
    return await readClusterId(http);
  } catch (err) {
    if (!(err instanceof KubeApiError)) throw err;
    throw new KubeApiError(
      err.kind,
      `reading this cluster's identity for key owner tags: ${err.message} (grant get on namespace kube-system, or set SECUREKEY_CLUSTER_ID)`,
      { ...(err.status === undefined ? {} : { status: err.status }), cause: err },
    );
  }
}

export async function startOperator(o: StartOperatorOptions): Promise<RunningOperator> {
  const { config, log } = o;
  const http = new KubeHttp(o.kubeAccess ?? defaultKubeAccess());
  const caPem = o.caPem ?? (config.caFile ? readFileSync(config.caFile, 'utf8') : undefined);
  const credential = o.credential ?? credentialFor(config, caPem);
  const metrics = operatorMetrics();
  const vaults = new Vaults({
    credential,
    allowedSuffixes: config.allowedVaultSuffixes,
    observe: metrics.observeVault,
    ...(caPem === undefined ? {} : { caPem }),
  });
  const clusterId = config.clusterId ?? (await clusterIdentity(http));
  const identity = config.leaderElection.identity || `${hostname()}-${process.pid}`;
  const events = new EventRecorder({
    http,
    component: 'securekey-operator',
    instance: identity,
    onError: (err) => log.warn('event not recorded', { error: err }),
  });
  const controller = new SecureKeyController({
    http,
    api: new SecureKeyApi(http),
    vault: (url) => vaults.get(url),
    event: (target, type, reason, message) => events.record(target, type, reason, message),
    now: () => new Date(),
    clusterId,
    concurrency: config.concurrency,
    resyncMs: config.resyncMs,
    relistIntervalMs: config.relistIntervalMs,
    allowedAuthorities: config.allowedAuthorities,
    podAdmission: config.podAdmission,
    verifyApproval: new ApprovalCache().verify,
    hooks: {
      ...metrics.hooks,
      informerError: (informer, err) => {
        metrics.hooks.informerError?.(informer, err);
        log.warn('list/watch failed; retrying', { informer, error: err });
      },
    },
    onDigests: metrics.digests,
    log: (level, msg, fields) => log[level](msg, fields),
    ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
  });
  metrics.podsCached(() => controller.pods.size);
  controller.start();

  // The webhook serves on every replica; its TLS upkeep is the leader's (one writer).
  const webhook = config.webhook
    ? await runWebhook({
        config: config.webhook,
        namespace: config.ownNamespace,
        http,
        registry: metrics.registry,
        cached: (key) => controller.secureKeys.get(key),
        log,
        allowed: { vaultSuffixes: config.allowedVaultSuffixes, authorities: config.allowedAuthorities },
      })
    : undefined;
  const webhookDuties = async (signal: AbortSignal): Promise<void> => webhook?.lead(signal);

  const shutdown = new AbortController();
  let leading = false;
  let leadership: Promise<void>;
  if (config.leaderElection.enabled) {
    const elector = new LeaderElector({
      http,
      namespace: config.leaderElection.namespace,
      name: config.leaderElection.name,
      identity,
      leaseDurationMs: config.leaderElection.leaseDurationMs,
      renewDeadlineMs: Math.round((config.leaderElection.leaseDurationMs * 2) / 3),
      retryPeriodMs: Math.max(500, Math.round(config.leaderElection.leaseDurationMs / 7)),
      onStartedLeading: async (signal) => {
        leading = true;
        metrics.setLeader(true);
        log.info('leading', { identity });
        await Promise.all([controller.lead(signal), webhookDuties(signal)]);
      },
      onStoppedLeading: () => {
        leading = false;
        metrics.setLeader(false);
        log.info('stopped leading', { identity });
      },
      onNewLeader: (leader) => log.info('leader observed', { leader }),
      log: (level, msg, fields) => log[level](msg, fields),
    });
    leadership = elector.run(shutdown.signal);
  } else {
    leading = true;
    metrics.setLeader(true);
    leadership = Promise.all([controller.lead(shutdown.signal), webhookDuties(shutdown.signal)]).then(
      () => {},
    );
  }

  const ops = await startOpsServer({
    host: config.metrics.host,
    port: config.metrics.port,
    registry: metrics.registry,
    checks: {
      healthz: [{ name: 'informers', check: () => controller.health() }],
      readyz: [
        {
          name: 'informers-synced',
          check: () => controller.secureKeys.hasSynced() && controller.pods.hasSynced(),
        },
        { name: 'informers', check: () => controller.health() },
      ],
    },
    log,
  });
  log.info('operator started', {
    identity,
    namespace: config.namespace ?? '(all)',
    ops: ops.url,
    leaderElection: config.leaderElection.enabled,
    clusterId,
    ...(webhook ? { webhook: webhook.url } : {}),
  });

  return {
    controller,
    opsUrl: ops.url,
    isLeader: () => leading,
    async stop() {
      log.info('shutting down');
      shutdown.abort();
      await leadership;
      // The webhook keeps answering while the workers drain, for at least the drain time from now.
      const drained =
        webhook && config.shutdownDrainMs > 0
          ? new Promise((r) => setTimeout(r, config.shutdownDrainMs))
          : Promise.resolve();
      if (webhook && config.shutdownDrainMs > 0) {
        log.info('draining admissions before the webhook closes', { ms: config.shutdownDrainMs });
      }
      await Promise.all([controller.stop(), drained]);
      await webhook?.close();
      await events.flush();
      await ops.close();
      http.close();
      log.info('stopped');
    },
  };
}
