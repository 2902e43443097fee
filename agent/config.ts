/**
 * The agent's configuration, from its arguments and environment only: what decides where keys come
 * from must be in the container's args/env, which the pod's security policy measures — never a
 * ConfigMap or the API server (docs/threat-model.md#what-must-hold). `parseAgentConfig(argv, env)` does
 * no I/O: it returns a complete config or throws an AgentError (step `config`) naming the flag or variable.
 *
 * Every option has a flag and a variable (core/inject/agent-contract.ts, shared with the injector); a
 * flag wins over the variable. Azure identity comes from the variables the AKS workload-identity
 * webhook injects (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST).
 * The parts: config/options.ts (types, argv), config/key-specs.ts (keys), config/validators.ts (values).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AGENT_OPTIONS,
  EVIDENCE_BACKENDS,
  KEY_FILE_MODES,
  KEYS_MOUNT_PATH,
  SIDECAR_PROBE_PORT,
  WORKLOAD_IDENTITY_ENV,
} from '../core/inject/agent-contract.ts';
import { KEY_HSM_ENCS, type KeyHsmEnc } from '../core/keywrap/key-hsm.ts';
import { keySpecs } from './config/key-specs.ts';
import {
  ATTESTING_MODES,
  DEFAULT_IMDS_URL,
  DEFAULT_KDS_URL,
  DEFAULT_SEV_HELPER,
  DEFAULT_THIM_URL,
  HELPER_BACKENDS,
  IDENTITY_MODES,
  readArgs,
  READY_FILE_NAME,
  SIMULATED_BACKENDS,
  VCEK_SOURCES,
  type AgentConfig,
  type AgentIdentity,
  type AttestingMode,
  type Env,
  type ManagedIdentity,
  type WorkloadIdentity,
} from './config/options.ts';
import {
  absolutePath,
  bool,
  duration,
  fileOwner,
  httpsUrl,
  httpUrl,
  inlinePem,
  invalid,
  missing,
  oneOf,
  port,
  type Sourced,
} from './config/validators.ts';

// What the rest of the agent reads from its configuration, where it always found it.
export {
  DEFAULT_SEV_HELPER,
  type AgentConfig,
  type AgentIdentity,
  type KeySpec,
  type ManagedIdentity,
  type VcekSource,
  type WorkloadIdentity,
} from './config/options.ts';

type Option = keyof typeof AGENT_OPTIONS;

/**
 * `keys: false`: the settings without keys to fetch — the node agent's pod-attestation source (simulators
 * only) reads how to attest and release from them, and takes its keys from SecureKeys.
 */
export function parseAgentConfig(argv: readonly string[], env: Env, o: { keys?: boolean } = {}): AgentConfig {
  const args = readArgs(argv, AGENT_OPTIONS, env);
  const mode = args.mode ?? 'init';
  if (!(ATTESTING_MODES as readonly string[]).includes(mode)) {
    throw invalid(
      `mode ${JSON.stringify(mode)} is not supported`,
      `this agent runs as: ${ATTESTING_MODES.join(', ')}`,
    );
  }
  const { get } = args;
  /** The option's value, else `fallback` as though its variable held it (messages name the variable). */
  const or = (option: Option, fallback: string): Sourced =>
    get(option) ?? { value: fallback, from: AGENT_OPTIONS[option].variable };
  const required = (option: Option, hint?: string): Sourced => {
    const v = get(option);
    if (v === undefined) {
      const { flag, variable } = AGENT_OPTIONS[option];
      throw missing(`${variable} (or ${flag}) is not set`, hint);
    }
    return v;
  };

  const simulators = bool(get('simulators'), false);
  const vaultUrl = get('vaultUrl');
  const attestationUrl = get('attestationUrl');
  // The injector passes no output directory: the default is where it mounts the keys volume.
  const outputDir = absolutePath(or('outputDir', KEYS_MOUNT_PATH));
  const readyFile = get('readyFile');
  const uvmSecurityContextDir = get('uvmSecurityContextDir');
  const skrApiPort = get('skrApiPort');
  const config: AgentConfig = {
    mode: mode as AttestingMode,
    refreshMs: duration(or('refresh', '6h'), 1_000),
    probePort: port(or('probePort', String(SIDECAR_PROBE_PORT))),
    ...(skrApiPort ? { skrApiPort: port(skrApiPort) } : {}),
    keys:
      o.keys === false
        ? []
        : keySpecs(
            {
              keys: required('keys', 'e.g. SECUREKEY_KEYS="db=db-key:pem,cache=cache-key"'),
              ...(vaultUrl ? { vaultUrl: httpsUrl(vaultUrl, true) } : {}),
              ...(attestationUrl ? { attestationUrl: httpsUrl(attestationUrl, true) } : {}),
              perKey: {
                format: get('format'),
                file: get('file'),
                authority: get('authority'),
                rotation: get('rotation'),
              },
            },
            outputDir,
          ),
    identity: identityFrom(env, get),
    evidence: oneOf(or('evidence', 'tsm'), EVIDENCE_BACKENDS),
    vcekSource: oneOf(or('vcekSource', 'auto'), VCEK_SOURCES),
    thimUrl: httpUrl(or('thimUrl', DEFAULT_THIM_URL)),
    ...(uvmSecurityContextDir ? { uvmSecurityContextDir: absolutePath(uvmSecurityContextDir) } : {}),
    outputDir,
    readyFile: readyFile === undefined ? path.join(outputDir, READY_FILE_NAME) : absolutePath(readyFile),
    releaseEnc: oneOf(or('releaseEnc', 'RSA_AES_KEY_WRAP_256'), Object.keys(KEY_HSM_ENCS) as KeyHsmEnc[]),
    timeoutMs: duration(or('timeout', '120s'), 1_000),
    admissionWaitMs: duration(or('admissionWait', '0s'), 0),
    fileMode: oneOf(or('fileMode', '0400'), KEY_FILE_MODES),
    allowDiskOutput: bool(get('allowDiskOutput'), false),
    simulators,
  };
  const trustRoots = get('releaseTrustRoots');
  if (trustRoots) config.releaseTrustRootsFile = absolutePath(trustRoots);
  const caFile = get('caFile');
  if (caFile) config.caFile = absolutePath(caFile);
  const caPem = inlinePem(get('caPem'), caFile);
  if (caPem) config.caPem = caPem;
  const trustRootsPem = inlinePem(get('releaseTrustRootsPem'), trustRoots);
  if (trustRootsPem) config.releaseTrustRootsPem = trustRootsPem;
  // In `auto` KDS is a last resort only when named; `kds` needs it, AMD's own by default.
  const kdsUrl = get('kdsUrl') ?? (config.vcekSource === 'kds' ? or('kdsUrl', DEFAULT_KDS_URL) : undefined);
  if (kdsUrl) config.kdsUrl = httpsUrl(kdsUrl, false);
  const owner = get('fileOwner');
  if (owner) config.fileOwner = fileOwner(owner);

  if (SIMULATED_BACKENDS.includes(config.evidence) && !simulators) {
    throw invalid(
      `${AGENT_OPTIONS.evidence.variable}=${config.evidence} talks to a simulator, and simulators are not enabled`,
      `set ${AGENT_OPTIONS.simulators.variable}=true to use simulated evidence (never in production)`,
    );
  }
  if (config.evidence === 'psp') {
    config.pspUrl = httpsUrl(required('pspUrl', 'the simulated PSP service'), true);
    config.pspTokenFile = absolutePath(
      required('pspTokenFile', 'a projected service-account token whose audience is the PSP'),
    );
  }
  if (config.evidence === 'sev-guest-socket' || config.evidence === 'tsm-socket') {
    config.deviceSocket = absolutePath(required('deviceSocket', 'the simulated guest devices’ Unix socket'));
  }
  if (HELPER_BACKENDS.includes(config.evidence)) {
    config.sevHelper = absolutePath(or('sevHelper', DEFAULT_SEV_HELPER));
  }
  for (const key of config.keys) {
    if (key.path === config.readyFile) {
      throw invalid(`key ${key.alias} would be written over the readiness file ${config.readyFile}`);
    }
  }
  return config;
}

/**
 * Workload identity when asked for, or under `auto` when its token file is set (the AKS webhook sets all
 * three variables); managed identity through IMDS otherwise — the choice Microsoft's SKR sidecar makes.
 * A half-configured workload identity is refused rather than quietly replaced by another identity.
 */
function identityFrom(env: Env, get: (option: Option) => Sourced | undefined): AgentIdentity {
  const mode = oneOf(
    get('identity') ?? { value: 'auto', from: AGENT_OPTIONS.identity.variable },
    IDENTITY_MODES,
  );
  const { tokenFile } = WORKLOAD_IDENTITY_ENV;
  const workload = mode === 'workload' || (mode === 'auto' && Boolean(env[tokenFile]?.trim()));
  return workload ? workloadIdentity(env) : managedIdentity(get);
}

function workloadIdentity(env: Env): WorkloadIdentity {
  const hint =
    'the AKS workload-identity webhook sets it when the pod’s service account is labelled azure.workload.identity/use: "true"';
  const need = (name: string): string => {
    const v = env[name]?.trim();
    if (!v) throw missing(`${name} is not set`, hint);
    return v;
  };
  const { tenantId, clientId, tokenFile, authorityHost } = WORKLOAD_IDENTITY_ENV;
  const identity: WorkloadIdentity = {
    kind: 'workload',
    tenantId: need(tenantId),
    clientId: need(clientId),
    tokenFile: absolutePath({ value: need(tokenFile), from: tokenFile }),
  };
  const authority = env[authorityHost]?.trim();
  if (authority) identity.authorityHost = httpsUrl({ value: authority, from: authorityHost }, false);
  return identity;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MANAGED_IDENTITY_RESOURCE =
  /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i;

function managedIdentity(get: (option: Option) => Sourced | undefined): ManagedIdentity {
  const identity: ManagedIdentity = {
    kind: 'managed',
    imdsUrl: httpUrl(get('imdsUrl') ?? { value: DEFAULT_IMDS_URL, from: AGENT_OPTIONS.imdsUrl.variable }),
  };
  const id = get('managedIdentity');
  if (id === undefined) return identity;
  if (GUID.test(id.value)) identity.clientId = id.value;
  else if (MANAGED_IDENTITY_RESOURCE.test(id.value)) identity.resourceId = id.value;
  else {
    throw invalid(
      `${id.from}=${JSON.stringify(id.value)} is neither a client id nor a user-assigned identity's resource id`,
      'give the client id (a GUID) or /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>',
    );
  }
  return identity;
}

/** Reads a PEM file the configuration names; the error names the option. */
export async function readConfigPem(file: string, option: Option): Promise<string> {
  const { variable } = AGENT_OPTIONS[option];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw invalid(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid(`${variable}: ${file} holds no PEM certificate`);
  }
  return text;
}
