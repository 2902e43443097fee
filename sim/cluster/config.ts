/**
 * The in-cluster simulators' configuration, from the environment the Helm chart sets (pure: no I/O).
 * Errors name the variable. SIMULATORS ONLY.
 */
export interface ClusterSimulatorsConfig {
  /** Directory with the release's simulator CA: `ca.crt`, `ca.key` (the chart generates them). */
  caDir: string;
  /** The Managed HSM's host; must end with "." + the challenge resource's host (the Key Vault SDK checks). */
  vaultHost: string;
  vaultResource: string;
  /** The host the other simulators answer on (a Service name). */
  host: string;
  ports: { vault: number; maa: number; entra: number; psp: number; thim: number };
  /** Federated-credential subjects (`system:serviceaccount:<ns>:<name>`). */
  operatorSubject: string;
  workloadSubjects: string[];
  pspAudience: string;
  /** Namespaces whose pods the PSP serves; all when empty. */
  pspNamespaces: string[];
  /** Enables the vault's and MAA's `/_simulator/` admin calls (fault plans, key fingerprints). */
  adminToken?: string;
  /** Where the vault keeps its state between restarts (an emptyDir survives a container restart). */
  statePath?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const SUBJECT = /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${name} is required (the chart sets it)`);
  return v;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new Error(`${name}=${JSON.stringify(raw)}: not a port`);
  return n;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `ns/name` or the full `system:serviceaccount:ns:name` form. */
function subject(raw: string, name: string): string {
  const full = raw.startsWith('system:serviceaccount:')
    ? raw
    : `system:serviceaccount:${raw.replace('/', ':')}`;
  if (!SUBJECT.test(full)) {
    throw new Error(`${name}: ${JSON.stringify(raw)} is not a service account (namespace/name)`);
  }
  return full;
}

export function parseClusterSimulatorsConfig(env: Env): ClusterSimulatorsConfig {
  const vaultHost = required(env, 'SECUREKEY_SIM_VAULT_HOST');
  const vaultResource = required(env, 'SECUREKEY_SIM_VAULT_RESOURCE');
  let resourceHost: string;
  try {
    resourceHost = new URL(vaultResource).hostname;
  } catch {
    throw new Error(`SECUREKEY_SIM_VAULT_RESOURCE=${JSON.stringify(vaultResource)}: not a URL`);
  }
  if (!vaultHost.endsWith(`.${resourceHost}`)) {
    throw new Error(
      `SECUREKEY_SIM_VAULT_HOST=${vaultHost} must end with .${resourceHost} (SECUREKEY_SIM_VAULT_RESOURCE): the Key Vault SDK refuses the challenge otherwise`,
    );
  }
  const workloads = list(env, 'SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS');
  if (workloads.length === 0) {
    throw new Error('SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS: name at least one namespace/serviceaccount');
  }
  return {
    caDir: required(env, 'SECUREKEY_SIM_CA_DIR'),
    vaultHost,
    vaultResource,
    host: required(env, 'SECUREKEY_SIM_HOST'),
    ports: {
      vault: port(env, 'SECUREKEY_SIM_VAULT_PORT', 8443),
      maa: port(env, 'SECUREKEY_SIM_MAA_PORT', 8444),
      entra: port(env, 'SECUREKEY_SIM_ENTRA_PORT', 8445),
      psp: port(env, 'SECUREKEY_SIM_PSP_PORT', 8446),
      thim: port(env, 'SECUREKEY_SIM_THIM_PORT', 8447),
    },
    operatorSubject: subject(
      required(env, 'SECUREKEY_SIM_OPERATOR_SERVICE_ACCOUNT'),
      'SECUREKEY_SIM_OPERATOR_SERVICE_ACCOUNT',
    ),
    workloadSubjects: workloads.map((w) => subject(w, 'SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS')),
    pspAudience: env['SECUREKEY_SIM_PSP_AUDIENCE'] || 'securekey-psp',
    pspNamespaces: list(env, 'SECUREKEY_SIM_PSP_NAMESPACES'),
    ...(env['SECUREKEY_SIM_ADMIN_TOKEN'] ? { adminToken: env['SECUREKEY_SIM_ADMIN_TOKEN'] } : {}),
    ...(env['SECUREKEY_SIM_STATE'] ? { statePath: env['SECUREKEY_SIM_STATE'] } : {}),
  };
}
