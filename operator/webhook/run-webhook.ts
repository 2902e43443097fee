/**
 * The webhook inside the operator process: TLS from cert-manager's files or from the Secret this
 * operator keeps (the leader rotates it, recreates it when deleted and keeps caBundle current; every
 * replica reloads it), SecureKeys resolved from the controller's cache only, and admission latency
 * metrics.
 *
 * SecureKeys are never read from the API server here: the cache holds exactly the SecureKeys this
 * operator manages, in the pod's namespace only, so an answer can reveal nothing about a namespace the
 * operator does not watch, and a flood of reviews naming unknown SecureKeys costs the API server nothing.
 * A SecureKey created a moment before its pod gets CACHE_GRACE_MS to reach the cache.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { certificatesOnlyProblem } from '../../core/x509/index.ts';
import { agentSettings, type AgentSettingsInput } from '../../core/inject/index.ts';
import type { WebhookConfig } from '../config.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { checkAuthorities } from '../reconcile/authorities.ts';
import { checkVaultUrl } from '../vault/vaults.ts';
import type { Logger } from '../../edge/log/log.ts';
import type { Registry } from '../observability/metrics.ts';
import { SYSTEM_NAMESPACES } from './admission.ts';
import { startWebhookServer } from './server.ts';
import { ensureTlsSecret, syncCaBundle, watchCertificateFiles } from './tls-manager.ts';

export interface RunningWebhook {
  url: string;
  /**
   * Leader duty until `signal` aborts: every TLS_CHECK_MS, create or rotate the Secret when due (or
   * gone) and keep caBundle current.
   */
  lead(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * How often the leader checks the Secret and caBundle, and every replica reloads the Secret: a deleted
 * Secret or an overwritten caBundle is repaired within seconds, for two GETs per check.
 */
export const TLS_CHECK_MS = 5_000;
/** How long a review waits for a SecureKey the cache has not seen yet. */
export const CACHE_GRACE_MS = 1_000;

export async function runWebhook(o: {
  config: WebhookConfig;
  namespace: string;
  http: KubeHttp;
  registry: Registry;
  cached: (key: string) => SecureKey | undefined;
  log: Logger;
  /** What the reconciler allows (operator config): SecureKeys outside it are refused at admission too. */
  allowed?: { vaultSuffixes: readonly string[]; authorities: readonly string[] };
}): Promise<RunningWebhook> {
  const { config, namespace, http, log } = o;
  const ref = { namespace, name: config.secretName };
  const dns = [
    `${config.serviceName}.${namespace}.svc`,
    `${config.serviceName}.${namespace}.svc.cluster.local`,
  ];
  const latency = o.registry.histogram({
    name: 'securekey_webhook_admission_duration_seconds',
    help: 'Time to answer one admission review, by outcome (mutated, unchanged, skipped, denied, error).',
    labelNames: ['outcome'],
  });

  let stopFiles: (() => void) | undefined;
  let tls: { certPem: string; keyPem: string };
  if (config.certDir) {
    const files = watchCertificateFiles(config.certDir, (cert, key) => {
      server.setCertificate(cert, key);
      log.info('webhook certificate reloaded from files', { dir: config.certDir });
    });
    stopFiles = files.stop;
    tls = files.initial;
  } else {
    tls = (await ensureTlsSecret(http, ref, dns, { rotate: false })).tls;
  }

  const clientCaPem = config.clientCaFile ? await readFile(config.clientCaFile, 'utf8') : undefined;
  const server = await startWebhookServer({
    host: config.host,
    port: config.port,
    ...(clientCaPem === undefined ? {} : { clientCaPem }),
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    latency,
    log,
    context: {
      settings: agentSettings(await agentInput(config.agent)),
      excludedNamespaces: new Set([namespace, ...SYSTEM_NAMESPACES]),
      ...(o.allowed ? { refusal: refusalFor(o.allowed) } : {}),
      resolve: (ns, name) => fromCache(() => o.cached(`${ns}/${name}`)),
    },
  });

  // Every replica follows the Secret, so a rotation by the leader reaches all of them.
  let current = tls.certPem;
  const reload = config.certDir
    ? undefined
    : setInterval(() => {
        ensureTlsSecret(http, ref, dns, { rotate: false })
          .then(({ tls: next }) => {
            if (next.certPem !== current) {
              current = next.certPem;
              server.setCertificate(next.certPem, next.keyPem);
              log.info('webhook certificate reloaded from Secret', {
                secret: `${ref.namespace}/${ref.name}`,
              });
            }
          })
          .catch((err: unknown) => log.warn('webhook certificate reload failed', { error: err }));
      }, TLS_CHECK_MS);
  reload?.unref();

  async function maintain(): Promise<void> {
    if (config.certDir) return; // cert-manager and its cainjector own rotation and caBundle
    const { tls: next, changed, reason } = await ensureTlsSecret(http, ref, dns);
    if (changed) log.info('webhook TLS updated', { reason });
    if (next.certPem !== current) {
      current = next.certPem;
      server.setCertificate(next.certPem, next.keyPem);
    }
    if (await syncCaBundle(http, config.configurationName, next.caBundlePem)) {
      log.info('webhook caBundle updated', { configuration: config.configurationName });
    }
  }

  return {
    url: server.url,
    async lead(signal) {
      while (!signal.aborted) {
        await maintain().catch((err: unknown) => log.warn('webhook TLS upkeep failed', { error: err }));
        await sleep(TLS_CHECK_MS, undefined, { signal }).catch(() => {});
      }
    },
    async close() {
      clearInterval(reload);
      stopFiles?.();
      await server.close();
    },
  };
}

/** What `lookup` finds, waiting up to CACHE_GRACE_MS for an informer that has not caught up yet. */
async function fromCache(lookup: () => SecureKey | undefined): Promise<SecureKey | undefined> {
  const deadline = Date.now() + CACHE_GRACE_MS;
  for (let hit = lookup(); ; hit = lookup()) {
    if (hit || Date.now() >= deadline) return hit;
    await sleep(100);
  }
}

/** The agents' settings; the simulators' CA is read once, here, and travels in each agent's environment. */
async function agentInput(agent: WebhookConfig['agent']): Promise<AgentSettingsInput> {
  const { simulators, ...rest } = agent;
  if (!simulators) return rest;
  const caPem = await readFile(simulators.caFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(
      `SECUREKEY_AGENT_CA_FILE: cannot read ${simulators.caFile} (${err.code ?? err.message})`,
      {
        cause: err,
      },
    );
  });
  // It goes into every agent's environment: certificates only.
  const problem = certificatesOnlyProblem(caPem);
  if (problem) throw new Error(`SECUREKEY_AGENT_CA_FILE: ${simulators.caFile} ${problem}`);
  return { ...rest, simulators: { pspUrl: simulators.pspUrl, pspAudience: simulators.pspAudience, caPem } };
}

export function refusalFor(allowed: {
  vaultSuffixes: readonly string[];
  authorities: readonly string[];
}): (sk: SecureKey) => string | undefined {
  return (sk) => {
    const vault = checkVaultUrl(sk.spec.vault.url, allowed.vaultSuffixes);
    if ('problem' in vault) return vault.problem;
    try {
      checkAuthorities(sk.spec.attestation.authorities, allowed.authorities);
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  };
}
