/**
 * The operator's configuration, from its environment (the chart sets these; `npm start` needs none).
 * No I/O: `parseConfig(env)` either returns a complete config or throws ConfigError naming the variable.
 *
 * Azure identity is explicit — workload identity (the AKS webhook's AZURE_* variables) or a client
 * secret — never DefaultAzureCredential's silent chain. With no Azure identity at all the operator runs
 * against the embedded sandbox (simulators), and says so loudly.
 */
import { SecureKeyError } from '../core/errors.ts';
import { parseDuration } from './reconcile/duration.ts';
import { AZURE_ATTESTATION_SUFFIXES, SIMULATED_ATTESTATION_SUFFIXES } from './reconcile/authorities.ts';
import { CONFIDENTIAL_RUNTIME_CLASSES, type PodAdmission } from '../core/workload/pod-admission.ts';
import { AZURE_VAULT_SUFFIXES, SIMULATED_VAULT_SUFFIXES } from './vault/vaults.ts';

export class ConfigError extends SecureKeyError<'bad-value' | 'missing' | 'conflict'> {}

export type AzureIdentityConfig =
  | {
      type: 'workload-identity';
      tenantId: string;
      clientId: string;
      tokenFile: string;
      authorityHost?: string;
    }
  | {
      type: 'client-secret';
      tenantId: string;
      clientId: string;
      clientSecret: string;
      authorityHost?: string;
    }
  /** No Azure configured: start the simulators in-process. */
  | { type: 'sandbox'; dir?: string; vaultPort: number; maaPort: number };

export interface WebhookConfig {
  host: string;
  port: number;
  /** cert-manager mode: tls.crt and tls.key mounted here. Otherwise the operator keeps them in a Secret. */
  certDir?: string;
  /** Serve only clients (the API server) with a certificate from this CA (ADR 22). */
  clientCaFile?: string;
  secretName: string;
  /** The Service's DNS names go into the serving certificate. */
  serviceName: string;
  /** MutatingWebhookConfiguration whose caBundle the leader keeps current. */
  configurationName: string;
  agent: {
    image: string;
    tenantId?: string;
    clientId?: string;
    authorityHost?: string;
    evidence?: string;
    nodeAgentUrl?: string;
    nodeAgentCaConfigMap?: string;
    /** SIMULATORS ONLY: agents get their evidence from the mock PSP and trust the simulators' CA. */
    simulators?: { pspUrl: string; pspAudience: string; caFile: string };
  };
}

export interface OperatorConfig {
  identity: AzureIdentityConfig;
  /** CA for vault and Entra TLS (simulators); system roots when absent. */
  caFile?: string;
  allowedVaultSuffixes: readonly string[];
  /** Attestation authorities SecureKeys may name: ".suffix" or an exact host. */
  allowedAuthorities: readonly string[];
  /** Which selected pods may lend their policy digest: runtime classes, and pods with none. */
  podAdmission: PodAdmission;
  /** Watch one namespace; all when absent. */
  namespace?: string;
  /**
   * This cluster's identity in key owner tags (SECUREKEY_CLUSTER_ID); when absent, the kube-system
   * namespace's uid, read at start.
   */
  clusterId?: string;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs: number;
  };
  metrics: { host: string; port: number };
  logLevel: string;
  concurrency: number;
  resyncMs: number;
  relistIntervalMs: number;
  /**
   * On shutdown, how long the webhook keeps answering after leadership is released: Service endpoints
   * and kube-proxy take a moment to stop sending admissions to a terminating pod (the chart sets 5s).
   */
  shutdownDrainMs: number;
  /** The operator's own namespace (POD_NAMESPACE): its pods are never mutated. */
  ownNamespace: string;
  webhook?: WebhookConfig;
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      'bad-value',
      `${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`,
    );
  }
  return n;
}

function duration(env: Env, name: string, fallback: string): number {
  const raw = env[name] ?? fallback;
  try {
    return parseDuration(raw, name);
  } catch (err) {
    throw new ConfigError(
      'bad-value',
      `${name}=${JSON.stringify(raw)}: expected a duration such as 30s, 10m or 1h`,
      {
        cause: err,
      },
    );
  }
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigError('bad-value', `${name}=${JSON.stringify(raw)}: expected true or false`);
}

function address(raw: string, name: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new ConfigError('bad-value', `${name}=${JSON.stringify(raw)}: expected host:port or :port`);
  return { host: m[1] === '' ? '0.0.0.0' : (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

function identityFrom(env: Env): AzureIdentityConfig {
  const tenantId = env['AZURE_TENANT_ID'];
  const clientId = env['AZURE_CLIENT_ID'];
  const tokenFile = env['AZURE_FEDERATED_TOKEN_FILE'];
  const secret = env['AZURE_CLIENT_SECRET'];
  const authority = env['AZURE_AUTHORITY_HOST'] ? { authorityHost: env['AZURE_AUTHORITY_HOST'] } : {};
  const sandbox = env['SECUREKEY_SANDBOX'];
  const anyAzure = [tenantId, clientId, tokenFile, secret].some((v) => v !== undefined && v !== '');
  if (sandbox === 'true' || (!anyAzure && sandbox !== 'false')) {
    if (anyAzure) {
      throw new ConfigError(
        'conflict',
        'SECUREKEY_SANDBOX=true and AZURE_* identity variables are both set; choose one',
      );
    }
    return {
      type: 'sandbox',
      ...(env['SECUREKEY_SANDBOX_DIR'] ? { dir: env['SECUREKEY_SANDBOX_DIR'] } : {}),
      vaultPort: int(env, 'SECUREKEY_SANDBOX_VAULT_PORT', 8443, 0, 65535),
      maaPort: int(env, 'SECUREKEY_SANDBOX_MAA_PORT', 8444, 0, 65535),
    };
  }
  for (const [name, value] of [
    ['AZURE_TENANT_ID', tenantId],
    ['AZURE_CLIENT_ID', clientId],
  ] as const) {
    if (!value) {
      throw new ConfigError('missing', `${name} is not set`, {
        hint: 'on AKS, label the operator service account for workload identity (azure.workload.identity/use: "true")',
      });
    }
  }
  if (tokenFile && secret) {
    throw new ConfigError(
      'conflict',
      'both AZURE_FEDERATED_TOKEN_FILE and AZURE_CLIENT_SECRET are set; choose one',
    );
  }
  if (tokenFile) {
    return { type: 'workload-identity', tenantId: tenantId!, clientId: clientId!, tokenFile, ...authority };
  }
  if (secret)
    return {
      type: 'client-secret',
      tenantId: tenantId!,
      clientId: clientId!,
      clientSecret: secret,
      ...authority,
    };
  throw new ConfigError(
    'missing',
    'neither AZURE_FEDERATED_TOKEN_FILE (workload identity) nor AZURE_CLIENT_SECRET is set',
  );
}

function webhookFrom(env: Env): WebhookConfig {
  const image = env['SECUREKEY_AGENT_IMAGE'];
  if (!image)
    throw new ConfigError('missing', 'SECUREKEY_AGENT_IMAGE is not set; the webhook injects that image');
  const agent: WebhookConfig['agent'] = { image };
  const tenant = env['SECUREKEY_AGENT_TENANT_ID'] ?? env['AZURE_TENANT_ID'];
  if (tenant) agent.tenantId = tenant;
  if (env['SECUREKEY_AGENT_CLIENT_ID']) agent.clientId = env['SECUREKEY_AGENT_CLIENT_ID'];
  const authority = env['SECUREKEY_AGENT_AUTHORITY_HOST'] ?? env['AZURE_AUTHORITY_HOST'];
  if (authority) agent.authorityHost = authority;
  if (env['SECUREKEY_AGENT_EVIDENCE']) agent.evidence = env['SECUREKEY_AGENT_EVIDENCE'];
  if (env['SECUREKEY_NODE_AGENT_URL']) agent.nodeAgentUrl = env['SECUREKEY_NODE_AGENT_URL'];
  if (env['SECUREKEY_NODE_AGENT_CA_CONFIGMAP'])
    agent.nodeAgentCaConfigMap = env['SECUREKEY_NODE_AGENT_CA_CONFIGMAP'];
  const pspUrl = env['SECUREKEY_AGENT_PSP_URL'];
  if (pspUrl) {
    if (env['SECUREKEY_SIMULATORS'] !== 'true') {
      throw new ConfigError(
        'conflict',
        'SECUREKEY_AGENT_PSP_URL points agents at the mock PSP, a simulator: set SECUREKEY_SIMULATORS=true to allow it',
      );
    }
    const caFile = env['SECUREKEY_AGENT_CA_FILE'];
    if (!caFile) {
      throw new ConfigError(
        'missing',
        'SECUREKEY_AGENT_CA_FILE is not set; agents must trust the simulators CA',
      );
    }
    agent.simulators = {
      pspUrl,
      pspAudience: env['SECUREKEY_AGENT_PSP_AUDIENCE'] || 'securekey-psp',
      caFile,
    };
  }
  const w: WebhookConfig = {
    ...address(env['SECUREKEY_WEBHOOK_ADDR'] ?? ':9443', 'SECUREKEY_WEBHOOK_ADDR'),
    secretName: env['SECUREKEY_WEBHOOK_SECRET'] ?? 'securekey-webhook-tls',
    serviceName: env['SECUREKEY_WEBHOOK_SERVICE'] ?? 'securekey-webhook',
    configurationName: env['SECUREKEY_WEBHOOK_CONFIGURATION'] ?? 'securekey',
    agent,
  };
  if (env['SECUREKEY_WEBHOOK_CERT_DIR']) w.certDir = env['SECUREKEY_WEBHOOK_CERT_DIR'];
  if (env['SECUREKEY_WEBHOOK_CLIENT_CA_FILE']) w.clientCaFile = env['SECUREKEY_WEBHOOK_CLIENT_CA_FILE'];
  return w;
}

/** A comma-separated list variable, trimmed, empty entries dropped; undefined when unset or empty. */
function list(env: Env, name: string): string[] | undefined {
  const value = env[name];
  return value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : undefined;
}

export function parseConfig(env: Env): OperatorConfig {
  const identity = identityFrom(env);
  const suffixes = list(env, 'SECUREKEY_ALLOWED_VAULT_SUFFIXES');
  const allowed = suffixes
    ? suffixes.map((s) => (s.startsWith('.') ? s : `.${s}`))
    : identity.type === 'sandbox' || env['SECUREKEY_SIMULATORS'] === 'true'
      ? SIMULATED_VAULT_SUFFIXES
      : AZURE_VAULT_SUFFIXES;
  const simulated = identity.type === 'sandbox' || env['SECUREKEY_SIMULATORS'] === 'true';
  const authorities = list(env, 'SECUREKEY_ALLOWED_AUTHORITY_SUFFIXES');
  const allowedAuthorities = authorities
    ? authorities.map((s) => s.toLowerCase())
    : simulated
      ? SIMULATED_ATTESTATION_SUFFIXES
      : AZURE_ATTESTATION_SUFFIXES;
  const podAdmission: PodAdmission = {
    runtimeClasses: list(env, 'SECUREKEY_ALLOWED_RUNTIME_CLASSES') ?? CONFIDENTIAL_RUNTIME_CLASSES,
    noRuntimeClass: bool(env, 'SECUREKEY_ALLOW_NO_RUNTIME_CLASS', false),
  };
  const podNamespace = env['POD_NAMESPACE'];
  const config: OperatorConfig = {
    identity,
    allowedVaultSuffixes: allowed,
    allowedAuthorities,
    podAdmission,
    leaderElection: {
      enabled: bool(env, 'SECUREKEY_LEADER_ELECTION', true),
      namespace: env['SECUREKEY_LEASE_NAMESPACE'] ?? podNamespace ?? 'default',
      name: env['SECUREKEY_LEASE_NAME'] ?? 'securekey-operator',
      identity: env['POD_NAME'] ?? `${env['HOSTNAME'] ?? 'operator'}-${process.pid}`,
      leaseDurationMs: duration(env, 'SECUREKEY_LEASE_DURATION', '15s'),
    },
    metrics: address(env['SECUREKEY_METRICS_ADDR'] ?? ':8080', 'SECUREKEY_METRICS_ADDR'),
    logLevel: env['SECUREKEY_LOG_LEVEL'] ?? 'info',
    concurrency: int(env, 'SECUREKEY_CONCURRENCY', 16, 1, 64),
    resyncMs: duration(env, 'SECUREKEY_RESYNC', '10m'),
    relistIntervalMs: duration(env, 'SECUREKEY_RELIST', '10m'),
    shutdownDrainMs: duration(env, 'SECUREKEY_SHUTDOWN_DRAIN', '0s'),
    ownNamespace: podNamespace ?? 'securekey-system',
  };
  if (env['SECUREKEY_CA_FILE']) config.caFile = env['SECUREKEY_CA_FILE'];
  if (bool(env, 'SECUREKEY_WEBHOOK', false)) config.webhook = webhookFrom(env);
  if (env['SECUREKEY_NAMESPACE']) config.namespace = env['SECUREKEY_NAMESPACE'];
  const clusterId = env['SECUREKEY_CLUSTER_ID'];
  if (clusterId) {
    // A tag value: Key Vault allows 256 characters; keep it to what a uid or a name looks like.
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(clusterId)) {
      throw new ConfigError(
        'bad-value',
        `SECUREKEY_CLUSTER_ID=${JSON.stringify(clusterId)}: expected 1 to 128 letters, digits, '.', '_', ':' or '-'`,
      );
    }
    config.clusterId = clusterId;
  }
  return config;
}
