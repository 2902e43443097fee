/**
 * What the injector writes and the agent reads, spelled once: the agent's modes, flags and environment
 * variables, and the defaults both sides rely on instead of writing them out (the keys directory, the
 * sidecar's probe port). core/inject builds the agent container from these, and agent/config and
 * agent/node/node-config parse with them: renaming a flag here renames it on both sides.
 * agent/config/contract.test.ts parses the containers the injector builds.
 *
 * Pure data: the agent's entry chunk imports this file, so it imports nothing.
 */

/** The agent's first argument: init (default) and sidecar attest themselves; node asks the node agent. */
export const AGENT_MODES = ['init', 'sidecar', 'node'] as const;
export type AgentMode = (typeof AGENT_MODES)[number];

/** Where the keys volume is mounted, and the agent's default output directory (the injector passes none). */
export const KEYS_MOUNT_PATH = '/run/securekey';
/**
 * The key files' modes (ADR 21): owner-read when the app runs as the agent's uid, owner- and group-read
 * when it shares the files' group (the pod's fsGroup, or the agent's runAsGroup set to the app's). Never
 * readable by others.
 */
export const KEY_FILE_MODES = ['0400', '0440'] as const;
export type KeyFileMode = (typeof KEY_FILE_MODES)[number];
/** The agent image's user (images/images.json), which the agent runs as unless the pod says otherwise. */
export const AGENT_IMAGE_UID = 65532;
/** The sidecar answers its startup probe here (GET /ready) once every key is written. */
export const SIDECAR_PROBE_PORT = 9797;
/** Node mode: the projected token for the node agent; the agent's default token file is `<here>/token`. */
export const NODE_TOKEN_MOUNT_PATH = '/var/run/secrets/securekey/node';

/** Evidence backends the agent knows (SECUREKEY_EVIDENCE); what each needs is the agent's business. */
export const EVIDENCE_BACKENDS = [
  'tsm',
  'sev-guest',
  'sev',
  'psp',
  'sev-guest-socket',
  'tsm-socket',
] as const;
export type EvidenceBackend = (typeof EVIDENCE_BACKENDS)[number];

/**
 * One setting: a flag and, for most, an environment variable (the flag wins). `repeats`: given once per
 * key, `--key alias=…` style; `boolean`: a switch, true when given bare.
 */
export interface AgentOption {
  readonly flag: `--${string}`;
  readonly variable?: string;
  readonly repeats?: true;
  readonly boolean?: true;
}

/** The init and sidecar modes' settings. */
export const AGENT_OPTIONS = {
  vaultUrl: { flag: '--vault-url', variable: 'SECUREKEY_VAULT_URL' },
  keys: { flag: '--key', variable: 'SECUREKEY_KEYS', repeats: true },
  format: { flag: '--format', variable: 'SECUREKEY_FORMATS', repeats: true },
  file: { flag: '--file', variable: 'SECUREKEY_FILES', repeats: true },
  authority: { flag: '--authority', variable: 'SECUREKEY_AUTHORITIES', repeats: true },
  attestationUrl: { flag: '--attestation-url', variable: 'SECUREKEY_ATTESTATION_URL' },
  releaseTrustRoots: { flag: '--release-trust-roots', variable: 'SECUREKEY_RELEASE_TRUST_ROOTS' },
  caFile: { flag: '--ca-file', variable: 'SECUREKEY_CA_FILE' },
  caPem: { flag: '--ca-pem', variable: 'SECUREKEY_CA_PEM' },
  releaseTrustRootsPem: { flag: '--release-trust-roots-pem', variable: 'SECUREKEY_RELEASE_TRUST_ROOTS_PEM' },
  evidence: { flag: '--evidence', variable: 'SECUREKEY_EVIDENCE' },
  pspUrl: { flag: '--psp-url', variable: 'SECUREKEY_PSP_URL' },
  pspTokenFile: { flag: '--psp-token-file', variable: 'SECUREKEY_PSP_TOKEN_FILE' },
  deviceSocket: { flag: '--device-socket', variable: 'SECUREKEY_DEVICE_SOCKET' },
  sevHelper: { flag: '--sev-helper', variable: 'SECUREKEY_SEV_HELPER' },
  vcekSource: { flag: '--vcek-source', variable: 'SECUREKEY_VCEK_SOURCE' },
  thimUrl: { flag: '--thim-url', variable: 'SECUREKEY_THIM_URL' },
  uvmSecurityContextDir: { flag: '--uvm-security-context-dir', variable: 'UVM_SECURITY_CONTEXT_DIR' },
  kdsUrl: { flag: '--kds-url', variable: 'SECUREKEY_KDS_URL' },
  outputDir: { flag: '--output-dir', variable: 'SECUREKEY_OUTPUT_DIR' },
  readyFile: { flag: '--ready-file', variable: 'SECUREKEY_READY_FILE' },
  releaseEnc: { flag: '--release-enc', variable: 'SECUREKEY_RELEASE_ENC' },
  timeout: { flag: '--timeout', variable: 'SECUREKEY_TIMEOUT' },
  admissionWait: { flag: '--admission-wait', variable: 'SECUREKEY_ADMISSION_WAIT' },
  refresh: { flag: '--refresh', variable: 'SECUREKEY_REFRESH' },
  /** Sidecar: the SecureKey's spec.rotation.interval per key, so it releases again when a version is due. */
  rotation: { flag: '--rotation', variable: 'SECUREKEY_ROTATIONS', repeats: true },
  probePort: { flag: '--probe-port', variable: 'SECUREKEY_PROBE_PORT' },
  /** Sidecar: serve the SKR sidecar's local API on this loopback port (the pod's opt-in, ADR 52). */
  skrApiPort: { flag: '--skr-api-port', variable: 'SECUREKEY_SKR_API_PORT' },
  fileOwner: { flag: '--file-owner', variable: 'SECUREKEY_FILE_OWNER' },
  fileMode: { flag: '--file-mode', variable: 'SECUREKEY_FILE_MODE' },
  /** TESTS AND SANDBOX ONLY: write keys to a directory that is not tmpfs. The injector never sets it. */
  allowDiskOutput: { flag: '--allow-disk-output', variable: 'SECUREKEY_ALLOW_DISK_OUTPUT', boolean: true },
  simulators: { flag: '--simulators', variable: 'SECUREKEY_SIMULATORS', boolean: true },
  /** `auto` (workload identity when its token file is set, else managed identity), `workload`, `managed`. */
  identity: { flag: '--identity', variable: 'SECUREKEY_IDENTITY' },
  /** Azure IMDS, where managed identities get their tokens. */
  imdsUrl: { flag: '--imds-url', variable: 'SECUREKEY_IMDS_URL' },
  /** A user-assigned managed identity: its client id or its resource id; the default identity when absent. */
  managedIdentity: { flag: '--managed-identity', variable: 'SECUREKEY_MANAGED_IDENTITY' },
} as const satisfies Record<string, AgentOption>;

/** Node mode's settings (ADR 14): keys by SecureKey name, the node agent and how to reach it. */
export const NODE_OPTIONS = {
  nodeAgentUrl: { flag: '--node-agent-url', variable: 'SECUREKEY_NODE_AGENT_URL' },
  nodeAgentCa: { flag: '--node-agent-ca', variable: 'SECUREKEY_NODE_AGENT_CA' },
  tokenFile: { flag: '--token-file', variable: 'SECUREKEY_NODE_TOKEN_FILE' },
  keys: { flag: '--key', repeats: true },
  format: { flag: '--format', repeats: true },
  file: { flag: '--file', repeats: true },
  outputDir: AGENT_OPTIONS.outputDir,
  fileMode: AGENT_OPTIONS.fileMode,
  allowDiskOutput: AGENT_OPTIONS.allowDiskOutput,
  timeout: AGENT_OPTIONS.timeout,
} as const satisfies Record<string, AgentOption>;

/** The variables the AKS workload-identity webhook sets, which the injector sets the same way. */
export const WORKLOAD_IDENTITY_ENV = {
  tenantId: 'AZURE_TENANT_ID',
  clientId: 'AZURE_CLIENT_ID',
  tokenFile: 'AZURE_FEDERATED_TOKEN_FILE',
  authorityHost: 'AZURE_AUTHORITY_HOST',
} as const;

/** `--flag=value`: one argument, so a value starting with a dash is never read as a flag. */
export const flagArg = (option: AgentOption, value: string): string => `${option.flag}=${value}`;

/** A repeating option's value for one key: `<alias>=<value>`. */
export const perKeyArg = (option: AgentOption, alias: string, value: string): string =>
  flagArg(option, `${alias}=${value}`);
