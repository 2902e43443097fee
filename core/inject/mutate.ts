/**
 * The injection, as a pure function (vault-k8s's model): pod in, pod out. The webhook and
 * `securekey inject` both call it; the webhook's JSON patch is the diff of the two. Nothing the user set
 * is overwritten: a clash is an InjectError naming it.
 */
import type { DeploymentMode } from '../api/securekey.generated.ts';
import { POLICY_ANNOTATIONS } from '../digest/index.ts';
import {
  AGENT_OPTIONS,
  flagArg,
  KEYS_MOUNT_PATH,
  NODE_OPTIONS,
  NODE_TOKEN_MOUNT_PATH,
  perKeyArg,
  SIDECAR_PROBE_PORT,
  WORKLOAD_IDENTITY_ENV,
  type AgentMode,
  type EvidenceBackend,
} from './agent-contract.ts';
import { agentModeFor } from './agent-mode.ts';
import {
  NODE_CA_MOUNT_PATH,
  NODE_CA_VOLUME,
  NODE_TOKEN_AUDIENCE,
  NODE_TOKEN_VOLUME,
  PSP_TOKEN_MOUNT_PATH,
  PSP_TOKEN_VOLUME,
  AGENT_CONTAINER,
  AGENT_MODE_ANNOTATION,
  KEYS_VOLUME,
  SKR_API_ANNOTATION,
  STATUS_ANNOTATION,
  STATUS_INJECTED,
  TOKEN_AUDIENCE,
  TOKEN_MOUNT_PATH,
  TOKEN_VOLUME,
} from './annotations.ts';
import { InjectError } from './errors.ts';
import { keyFileAccess } from './key-file-access.ts';
import type { KeyRequest } from './requests.ts';
import { targetContainers } from './requests.ts';

type Obj = Record<string, unknown>;

/** A key request with what its SecureKey says: where the key lives and who may attest for it. */
export interface ResolvedKey extends KeyRequest {
  vaultUrl: string;
  keyName: string;
  authority: string;
  /** The SecureKey's spec.mode (absent: Pod): node-mode keys come from the node agent (agent-mode.ts). */
  mode?: DeploymentMode;
  /** The SecureKey's spec.rotation.interval: a sidecar releases the key again when a version is due. */
  rotation?: string;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface AgentSettings {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** The agent's command line for these keys (its configuration: measured with the pod, never fetched). */
  args: (keys: readonly ResolvedKey[]) => string[];
  /** Extra environment (identity, evidence backend, trust root): measured with the pod too. */
  env?: EnvVar[];
  tokenExpirationSeconds?: number;
  resources?: Obj;
  /** Node mode: the node agent's URL and the ConfigMap (key ca.crt) holding the CA its certificate chains to. */
  node?: { url: string; caConfigMap: string };
  /**
   * SIMULATORS ONLY: evidence from the mock PSP, which identifies the pod by a projected token with this
   * audience (its own volume, so the Azure token's audience stays single-purpose).
   */
  psp?: { url: string; audience: string };
}

/** Node mode's command line: keys by SecureKey name; the node agent resolves vaults (ADR 14). */
export function nodeArgs(keys: readonly ResolvedKey[]): string[] {
  const node: AgentMode = 'node';
  return [
    node,
    ...keys.flatMap((k) => [
      perKeyArg(NODE_OPTIONS.keys, k.alias, k.secureKey),
      perKeyArg(NODE_OPTIONS.format, k.alias, k.format),
      perKeyArg(NODE_OPTIONS.file, k.alias, k.file),
    ]),
  ];
}

/**
 * Init mode's command line as a sidecar, with each rotating key's interval (ADR 51) and the SKR API's
 * port when the pod asks for it (ADR 52).
 */
function sidecarArgs(
  keys: readonly ResolvedKey[],
  settings: AgentSettings,
  skrApiPort: number | undefined,
): string[] {
  return [
    'sidecar' satisfies AgentMode,
    ...settings.args(keys).slice(1),
    ...keys.flatMap((k) =>
      k.rotation === undefined ? [] : [perKeyArg(AGENT_OPTIONS.rotation, k.alias, k.rotation)],
    ),
    ...(skrApiPort === undefined ? [] : [flagArg(AGENT_OPTIONS.skrApiPort, String(skrApiPort))]),
  ];
}

/** The pod's `securekey.io/skr-api` port: sidecar mode only, a TCP port other than the probe's. */
export function skrApiPortOf(
  annotations: Readonly<Record<string, unknown>>,
  mode: AgentMode,
): number | undefined {
  const raw = annotations[SKR_API_ANNOTATION];
  if (raw === undefined) return undefined;
  const port = typeof raw === 'string' && /^[1-9][0-9]{0,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(port <= 65_535)) {
    throw new InjectError(
      'bad-annotation',
      `annotation ${SKR_API_ANNOTATION}: ${JSON.stringify(raw)} is not a port number (1–65535)`,
      { hint: 'the port the SKR sidecar listened on, e.g. "8080"' },
    );
  }
  if (port === SIDECAR_PROBE_PORT) {
    throw new InjectError(
      'bad-annotation',
      `annotation ${SKR_API_ANNOTATION}: ${port} is the agent's probe port`,
      { hint: 'choose another port, e.g. "8080"' },
    );
  }
  if (mode !== 'sidecar') {
    throw new InjectError(
      'bad-annotation',
      `annotation ${SKR_API_ANNOTATION} needs ${AGENT_MODE_ANNOTATION}: sidecar, not ${mode}: only the sidecar stays up to serve it`,
      { hint: `add ${AGENT_MODE_ANNOTATION}: sidecar, or remove ${SKR_API_ANNOTATION}` },
    );
  }
  return port;
}

export type InjectResult =
  { changed: true; pod: Obj } | { changed: false; reason: 'already-injected' | 'no-keys'; pod: Obj };

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

const hasPolicy = (annotations: Obj) =>
  Object.values(POLICY_ANNOTATIONS).some((a) => annotations[a] !== undefined);

/**
 * Adds the agent as the first init container, an in-memory volume for the keys (mounted read-only into
 * the target containers at /run/securekey) and a projected service-account token for workload identity.
 */
export function injectAgent(pod: Obj, keys: readonly ResolvedKey[], settings: AgentSettings): InjectResult {
  const out = structuredClone(pod);
  const metadata = obj(out['metadata']);
  const annotations = obj(metadata['annotations']);
  const spec = obj(out['spec']);
  const initContainers = list(spec['initContainers']);
  const containers = list(spec['containers']);
  const volumes = list(spec['volumes']);

  const agentPresent = initContainers.some((c) => c['name'] === AGENT_CONTAINER);
  if (annotations[STATUS_ANNOTATION] === STATUS_INJECTED || agentPresent) {
    return { changed: false, reason: 'already-injected', pod };
  }
  if (keys.length === 0) return { changed: false, reason: 'no-keys', pod };
  if (hasPolicy(annotations)) {
    throw new InjectError(
      'policy-before-injection',
      'the pod carries a confidential-containers policy annotation but no SecureKey agent: adding the agent now would ' +
        'break the measured policy',
      {
        hint: 'run `securekey inject -f <manifests>` first, then generate the policy (az confcom katapolicygen)',
      },
    );
  }
  for (const name of [KEYS_VOLUME, TOKEN_VOLUME, NODE_TOKEN_VOLUME, NODE_CA_VOLUME, PSP_TOKEN_VOLUME]) {
    if (volumes.some((v) => v['name'] === name)) {
      throw new InjectError('conflict', `the pod already has a volume named ${name}`);
    }
  }
  if ([...initContainers, ...containers].some((c) => c['name'] === AGENT_CONTAINER)) {
    throw new InjectError('conflict', `the pod already has a container named ${AGENT_CONTAINER}`);
  }
  const mode = agentModeFor(annotations, keys);
  const skrApiPort = skrApiPortOf(annotations, mode);
  if (mode === 'node' && settings.node === undefined) {
    throw new InjectError(
      'bad-annotation',
      `${keys.some((k) => k.mode === 'Node') ? `SecureKey ${keys[0]?.secureKey ?? ''} serves node mode, but` : 'the pod asks for node mode, but'} node mode needs the node agent, which this installation does not configure`,
      {
        hint: 'give the node agent’s URL and the ConfigMap holding its CA (operator: SECUREKEY_NODE_AGENT_URL and SECUREKEY_NODE_AGENT_CA_CONFIGMAP; securekey inject: --node-agent-url and --node-agent-ca-configmap)',
      },
    );
  }
  const targets = targetContainers(
    annotations as Record<string, string>,
    containers.map((c) => String(c['name'])),
  );
  const access = keyFileAccess(
    spec,
    containers.filter((c) => targets.includes(String(c['name']))),
  );
  for (const c of containers) {
    if (!targets.includes(String(c['name']))) continue;
    const mounts = list(c['volumeMounts']);
    if (mounts.some((m) => m['mountPath'] === KEYS_MOUNT_PATH)) {
      throw new InjectError(
        'conflict',
        `container ${String(c['name'])} already mounts something at ${KEYS_MOUNT_PATH}`,
      );
    }
    c['volumeMounts'] = [...mounts, { name: KEYS_VOLUME, mountPath: KEYS_MOUNT_PATH, readOnly: true }];
  }

  const agent: Obj = {
    name: AGENT_CONTAINER,
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy ?? 'IfNotPresent',
    args: mode === 'sidecar' ? sidecarArgs(keys, settings, skrApiPort) : settings.args(keys),
    env: [
      ...(settings.env ?? []),
      { name: WORKLOAD_IDENTITY_ENV.tokenFile, value: `${TOKEN_MOUNT_PATH}/token` },
    ],
    volumeMounts: [
      { name: KEYS_VOLUME, mountPath: KEYS_MOUNT_PATH },
      { name: TOKEN_VOLUME, mountPath: TOKEN_MOUNT_PATH, readOnly: true },
    ],
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
      ...(access.runAsGroup === undefined ? {} : { runAsGroup: access.runAsGroup }),
    },
    resources: settings.resources ?? {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { memory: '128Mi' },
    },
  };
  const extraVolumes: Obj[] = [];
  if (mode === 'node' && settings.node) {
    // Node mode: no vault identity in the pod; a token for the node agent and the CA to check it by.
    agent['args'] = nodeArgs(keys);
    agent['env'] = [
      { name: NODE_OPTIONS.nodeAgentUrl.variable, value: settings.node.url },
      { name: NODE_OPTIONS.nodeAgentCa.variable, value: `${NODE_CA_MOUNT_PATH}/ca.crt` },
      { name: NODE_OPTIONS.tokenFile.variable, value: `${NODE_TOKEN_MOUNT_PATH}/token` },
    ];
    agent['volumeMounts'] = [
      { name: KEYS_VOLUME, mountPath: KEYS_MOUNT_PATH },
      { name: NODE_TOKEN_VOLUME, mountPath: NODE_TOKEN_MOUNT_PATH, readOnly: true },
      { name: NODE_CA_VOLUME, mountPath: NODE_CA_MOUNT_PATH, readOnly: true },
    ];
    extraVolumes.push(
      {
        name: NODE_TOKEN_VOLUME,
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', audience: NODE_TOKEN_AUDIENCE, expirationSeconds: 600 } },
          ],
        },
      },
      {
        name: NODE_CA_VOLUME,
        configMap: { name: settings.node.caConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
      },
    );
  }
  if (mode === 'sidecar') {
    // A native sidecar (KEP-753): started first, kept running, and the app waits for its startup probe.
    agent['restartPolicy'] = 'Always';
    agent['ports'] = [{ name: 'securekey', containerPort: SIDECAR_PROBE_PORT, protocol: 'TCP' }];
    agent['startupProbe'] = {
      httpGet: { path: '/ready', port: SIDECAR_PROBE_PORT },
      periodSeconds: 1,
      failureThreshold: 300,
    };
  }
  // 0400 is the agent's default: the argument only when the app reads through the files' group (ADR 21).
  if (access.mode !== '0400') {
    agent['args'] = [...(agent['args'] as string[]), flagArg(AGENT_OPTIONS.fileMode, access.mode)];
  }
  spec['initContainers'] = [agent, ...initContainers];
  spec['containers'] = containers;
  const identityToken: Obj = {
    name: TOKEN_VOLUME,
    projected: {
      sources: [
        {
          serviceAccountToken: {
            path: 'token',
            audience: TOKEN_AUDIENCE,
            expirationSeconds: settings.tokenExpirationSeconds ?? 3600,
          },
        },
      ],
    },
  };
  if (mode !== 'node' && settings.psp) {
    const psp: EvidenceBackend = 'psp';
    agent['env'] = [
      ...(agent['env'] as Obj[]),
      { name: AGENT_OPTIONS.evidence.variable, value: psp },
      { name: AGENT_OPTIONS.pspUrl.variable, value: settings.psp.url },
      { name: AGENT_OPTIONS.pspTokenFile.variable, value: `${PSP_TOKEN_MOUNT_PATH}/token` },
    ];
    agent['volumeMounts'] = [
      ...(agent['volumeMounts'] as Obj[]),
      { name: PSP_TOKEN_VOLUME, mountPath: PSP_TOKEN_MOUNT_PATH, readOnly: true },
    ];
    extraVolumes.push({
      name: PSP_TOKEN_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', audience: settings.psp.audience, expirationSeconds: 600 } },
        ],
      },
    });
  }
  spec['volumes'] = [
    ...volumes,
    { name: KEYS_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ...(mode === 'node' ? extraVolumes : [identityToken, ...extraVolumes]),
  ];
  metadata['annotations'] = { ...annotations, [STATUS_ANNOTATION]: STATUS_INJECTED };
  out['metadata'] = metadata;
  out['spec'] = spec;
  return { changed: true, pod: out };
}
