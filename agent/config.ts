/**
 * The agent's configuration, from its arguments and environment only (DESIGN §4: what decides where
 * keys come from must be in the container's args/env, which the pod's security policy measures —
 * never a ConfigMap or the API server). `parseAgentConfig(argv, env)` does no I/O: it returns a
 * complete config or throws an AgentError (step `config`) naming the flag or variable.
 *
 * Every option has a flag and a variable; a flag wins over the variable. Azure identity comes from the
 * variables the AKS workload-identity webhook injects (AZURE_TENANT_ID, AZURE_CLIENT_ID,
 * AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { KEY_HSM_ENCS, type KeyHsmEnc } from '../core/keywrap/key-hsm.ts';
import { KEY_FORMATS, type KeyFormat } from '../core/keys/output-formats.ts';
import { AgentError } from './errors.ts';

export const EVIDENCE_BACKENDS = [
  'tsm',
  'sev-guest',
  'sev',
  'psp',
  'sev-guest-socket',
  'tsm-socket',
] as const;
export type EvidenceBackend = (typeof EVIDENCE_BACKENDS)[number];
/** Backends that need the native helper (`/dev/sev-guest`; ACI's `/dev/sev`). */
export const HELPER_BACKENDS: readonly EvidenceBackend[] = ['sev-guest', 'sev'];
/** Where the agent image installs the native helper (agent/native). */
export const DEFAULT_SEV_HELPER = '/usr/local/lib/securekey/sev-report';
/** Backends that talk to a simulator rather than the guest kernel: refused unless simulators are on. */
export const SIMULATED_BACKENDS: readonly EvidenceBackend[] = ['psp', 'sev-guest-socket', 'tsm-socket'];

/** Where the VCEK chain comes from: the evidence (PSP answer, certificate table) with THIM as fallback, or THIM only. */
export const VCEK_SOURCES = ['auto', 'evidence', 'thim', 'kds'] as const;
export type VcekSource = (typeof VCEK_SOURCES)[number];

export interface KeySpec {
  /** The name the pod uses (`securekey.io/key-<alias>`); also the default file name. */
  alias: string;
  /** The vault (an https origin) that holds the key. */
  vaultUrl: string;
  /** The vault key name. */
  name: string;
  /** A specific key version; the latest when absent. */
  version?: string;
  /** The attestation authority (an https origin) the key's release policy names. */
  attestationUrl: string;
  format: KeyFormat;
  /** Absolute path of the file, inside the output directory. */
  path: string;
}

export interface WorkloadIdentity {
  tenantId: string;
  clientId: string;
  tokenFile: string;
  authorityHost?: string;
}

export interface AgentConfig {
  /** init: fetch once and exit; sidecar: stay up, refresh every `refreshMs`, answer GET /ready on `probePort`. */
  mode: AgentMode;
  refreshMs: number;
  probePort: number;
  /** At least one; keys sharing an attestation authority share one attestation. */
  keys: KeySpec[];
  identity: WorkloadIdentity;
  /** PEM file of the roots the release JWS must chain to; Node's built-in roots when absent. */
  releaseTrustRootsFile?: string;
  /** PEM file of the only CA to trust for TLS (simulators); system roots when absent. */
  caFile?: string;
  /**
   * The same two as PEM text in the environment: the webhook injects them so that the trust roots are
   * measured with the pod (a mounted file would not be).
   */
  caPem?: string;
  releaseTrustRootsPem?: string;
  evidence: EvidenceBackend;
  pspUrl?: string;
  pspTokenFile?: string;
  deviceSocket?: string;
  /** The native helper that issues the device ioctls (with `sev-guest`, `sev`). */
  sevHelper?: string;
  vcekSource: VcekSource;
  thimUrl: string;
  /** The UVM security context directory (host-amd-cert-base64), when the platform mounts one. */
  uvmSecurityContextDir?: string;
  /** AMD KDS (mode `kds`: default https://kdsintf.amd.com; mode `auto`: only when set). */
  kdsUrl?: string;
  outputDir: string;
  readyFile: string;
  releaseEnc: KeyHsmEnc;
  timeoutMs: number;
  /** How long a release refused for a digest not (yet) admitted is retried. */
  admissionWaitMs: number;
  fileOwner?: { uid: number; gid: number };
  simulators: boolean;
}

/** Flag and variable of each option, for messages and for the README table. */
export const OPTIONS = {
  vaultUrl: ['--vault-url', 'SECUREKEY_VAULT_URL'],
  keys: ['--key', 'SECUREKEY_KEYS'],
  format: ['--format', 'SECUREKEY_FORMATS'],
  file: ['--file', 'SECUREKEY_FILES'],
  authority: ['--authority', 'SECUREKEY_AUTHORITIES'],
  attestationUrl: ['--attestation-url', 'SECUREKEY_ATTESTATION_URL'],
  releaseTrustRoots: ['--release-trust-roots', 'SECUREKEY_RELEASE_TRUST_ROOTS'],
  caFile: ['--ca-file', 'SECUREKEY_CA_FILE'],
  caPem: ['--ca-pem', 'SECUREKEY_CA_PEM'],
  releaseTrustRootsPem: ['--release-trust-roots-pem', 'SECUREKEY_RELEASE_TRUST_ROOTS_PEM'],
  evidence: ['--evidence', 'SECUREKEY_EVIDENCE'],
  pspUrl: ['--psp-url', 'SECUREKEY_PSP_URL'],
  pspTokenFile: ['--psp-token-file', 'SECUREKEY_PSP_TOKEN_FILE'],
  deviceSocket: ['--device-socket', 'SECUREKEY_DEVICE_SOCKET'],
  sevHelper: ['--sev-helper', 'SECUREKEY_SEV_HELPER'],
  vcekSource: ['--vcek-source', 'SECUREKEY_VCEK_SOURCE'],
  thimUrl: ['--thim-url', 'SECUREKEY_THIM_URL'],
  uvmSecurityContextDir: ['--uvm-security-context-dir', 'UVM_SECURITY_CONTEXT_DIR'],
  kdsUrl: ['--kds-url', 'SECUREKEY_KDS_URL'],
  outputDir: ['--output-dir', 'SECUREKEY_OUTPUT_DIR'],
  readyFile: ['--ready-file', 'SECUREKEY_READY_FILE'],
  releaseEnc: ['--release-enc', 'SECUREKEY_RELEASE_ENC'],
  timeout: ['--timeout', 'SECUREKEY_TIMEOUT'],
  admissionWait: ['--admission-wait', 'SECUREKEY_ADMISSION_WAIT'],
  refresh: ['--refresh', 'SECUREKEY_REFRESH'],
  probePort: ['--probe-port', 'SECUREKEY_PROBE_PORT'],
  fileOwner: ['--file-owner', 'SECUREKEY_FILE_OWNER'],
  simulators: ['--simulators', 'SECUREKEY_SIMULATORS'],
} as const satisfies Record<string, readonly [string, string]>;
type Option = keyof typeof OPTIONS;

export const DEFAULT_OUTPUT_DIR = '/run/securekey';
/** Azure IMDS, where THIM lives on Azure confidential VMs and pods. */
export const DEFAULT_THIM_URL = 'http://169.254.169.254';
export const READY_FILE_NAME = '.securekey-ready';
export const MODES = ['init', 'sidecar'] as const;
export type AgentMode = (typeof MODES)[number];
/** Where the sidecar answers its startup probe (core/inject injects the same port). */
export const DEFAULT_PROBE_PORT = 9797;
/** Flags given once per key (`--key`, and the per-key `--format`, `--file`, `--authority`). */
const REPEATABLE: readonly string[] = [
  OPTIONS.keys[0],
  OPTIONS.format[0],
  OPTIONS.file[0],
  OPTIONS.authority[0],
];

type Env = Readonly<Record<string, string | undefined>>;

/** A value and the name (flag or variable) it came from. */
interface Sourced {
  value: string;
  from: string;
}

const missing = (message: string, hint?: string): AgentError =>
  new AgentError('config-missing', message, { step: 'config', ...(hint === undefined ? {} : { hint }) });
const invalid = (message: string, hint?: string): AgentError =>
  new AgentError('config-invalid', message, { step: 'config', ...(hint === undefined ? {} : { hint }) });

/** Splits argv into the mode and flag values (`--flag value` or `--flag=value`; `--key` repeats). */
function parseArgs(argv: readonly string[]): { mode: string; flags: Map<string, string[]> } {
  const known = new Map<string, Option>(Object.entries(OPTIONS).map(([k, [flag]]) => [flag, k as Option]));
  const flags = new Map<string, string[]>();
  let mode: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (mode !== undefined) throw invalid(`unexpected argument ${JSON.stringify(arg)}`);
      mode = arg;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!known.has(flag)) {
      throw invalid(`unknown flag ${flag}`, `known flags: ${[...known.keys()].join(', ')}`);
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (flag === OPTIONS.simulators[0]) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw missing(`${flag} needs a value`);
      value = next;
      i++;
    }
    const values = flags.get(flag) ?? [];
    if (values.length > 0 && !REPEATABLE.includes(flag)) throw invalid(`${flag} is given twice`);
    flags.set(flag, [...values, value]);
  }
  return { mode: mode ?? 'init', flags };
}

export function parseAgentConfig(argv: readonly string[], env: Env): AgentConfig {
  const { mode, flags } = parseArgs(argv);
  if (!(MODES as readonly string[]).includes(mode)) {
    throw invalid(`mode ${JSON.stringify(mode)} is not supported`, `this agent runs as: ${MODES.join(', ')}`);
  }
  const get = (option: Option): Sourced | undefined => {
    const [flag, variable] = OPTIONS[option];
    const fromFlag = flags.get(flag);
    if (fromFlag !== undefined) return { value: fromFlag.join(','), from: flag };
    const fromEnv = env[variable];
    return fromEnv === undefined || fromEnv.trim() === ''
      ? undefined
      : { value: fromEnv.trim(), from: variable };
  };
  const required = (option: Option, hint?: string): Sourced => {
    const v = get(option);
    if (v === undefined) {
      const [flag, variable] = OPTIONS[option];
      throw missing(`${variable} (or ${flag}) is not set`, hint);
    }
    return v;
  };

  const simulators = bool(get('simulators'), false);
  const vaultUrl = get('vaultUrl');
  const attestationUrl = get('attestationUrl');
  const outputDir = absolutePath(
    get('outputDir') ?? { value: DEFAULT_OUTPUT_DIR, from: OPTIONS.outputDir[1] },
  );
  const readyFile = get('readyFile');
  const config: AgentConfig = {
    mode: mode as AgentMode,
    refreshMs: duration(get('refresh') ?? { value: '5m', from: OPTIONS.refresh[1] }, 1_000),
    probePort: port(get('probePort') ?? { value: String(DEFAULT_PROBE_PORT), from: OPTIONS.probePort[1] }),
    keys: keySpecs(
      {
        keys: required('keys', 'e.g. SECUREKEY_KEYS="db=db-key:pem,cache=cache-key"'),
        ...(vaultUrl ? { vaultUrl: httpsUrl(vaultUrl, true) } : {}),
        ...(attestationUrl ? { attestationUrl: httpsUrl(attestationUrl, true) } : {}),
        perKey: { format: get('format'), file: get('file'), authority: get('authority') },
      },
      outputDir,
    ),
    identity: identityFrom(env),
    evidence: oneOf(get('evidence') ?? { value: 'tsm', from: OPTIONS.evidence[1] }, EVIDENCE_BACKENDS),
    vcekSource: oneOf(get('vcekSource') ?? { value: 'auto', from: OPTIONS.vcekSource[1] }, VCEK_SOURCES),
    thimUrl: httpUrl(get('thimUrl') ?? { value: DEFAULT_THIM_URL, from: OPTIONS.thimUrl[1] }),
    ...(get('uvmSecurityContextDir')
      ? { uvmSecurityContextDir: absolutePath(get('uvmSecurityContextDir')!) }
      : {}),
    outputDir,
    readyFile: readyFile === undefined ? path.join(outputDir, READY_FILE_NAME) : absolutePath(readyFile),
    releaseEnc: oneOf(
      get('releaseEnc') ?? { value: 'RSA_AES_KEY_WRAP_256', from: OPTIONS.releaseEnc[1] },
      Object.keys(KEY_HSM_ENCS) as KeyHsmEnc[],
    ),
    timeoutMs: duration(get('timeout') ?? { value: '120s', from: OPTIONS.timeout[1] }, 1_000),
    admissionWaitMs: duration(get('admissionWait') ?? { value: '0s', from: OPTIONS.admissionWait[1] }, 0),
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
  const owner = get('fileOwner');
  if (owner) config.fileOwner = fileOwner(owner);

  if (SIMULATED_BACKENDS.includes(config.evidence) && !simulators) {
    throw invalid(
      `${OPTIONS.evidence[1]}=${config.evidence} talks to a simulator, and simulators are not enabled`,
      `set ${OPTIONS.simulators[1]}=true to use simulated evidence (never in production)`,
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
    config.sevHelper = absolutePath(
      get('sevHelper') ?? { value: DEFAULT_SEV_HELPER, from: OPTIONS.sevHelper[1] },
    );
  }
  for (const key of config.keys) {
    if (key.path === config.readyFile) {
      throw invalid(`key ${key.alias} would be written over the readiness file ${config.readyFile}`);
    }
  }
  return config;
}

function identityFrom(env: Env): WorkloadIdentity {
  const hint =
    'the AKS workload-identity webhook sets it when the pod’s service account is labelled azure.workload.identity/use: "true"';
  const need = (name: string): string => {
    const v = env[name]?.trim();
    if (!v) throw missing(`${name} is not set`, hint);
    return v;
  };
  const identity: WorkloadIdentity = {
    tenantId: need('AZURE_TENANT_ID'),
    clientId: need('AZURE_CLIENT_ID'),
    tokenFile: absolutePath({
      value: need('AZURE_FEDERATED_TOKEN_FILE'),
      from: 'AZURE_FEDERATED_TOKEN_FILE',
    }),
  };
  const authority = env['AZURE_AUTHORITY_HOST']?.trim();
  if (authority) identity.authorityHost = httpsUrl({ value: authority, from: 'AZURE_AUTHORITY_HOST' }, false);
  return identity;
}

interface KeySources {
  keys: Sourced;
  /** Defaults for keys that name only a key (SECUREKEY_VAULT_URL, SECUREKEY_ATTESTATION_URL). */
  vaultUrl?: string;
  attestationUrl?: string;
  /** `alias=value` lists that set one field of named keys (what the injector writes). */
  perKey: { format: Sourced | undefined; file: Sourced | undefined; authority: Sourced | undefined };
}

/**
 * Keys, several separated by commas or white space (or one `--key` each), in either form:
 *   `alias=name[@version][:format[:path]]` — a key of SECUREKEY_VAULT_URL;
 *   `alias=https://<vault>/keys/<name>[/<version>][:format[:path]]` — a key ID, as the injector writes it.
 * `--format alias=…`, `--file alias=…` and `--authority alias=…` then set one field of a key. A
 * relative path is inside the output directory; an absolute one must be too, so that keys only ever
 * land on the tmpfs volume.
 */
export function keySpecs(sources: KeySources, outputDir: string): KeySpec[] {
  const { keys } = sources;
  const items = keys.value.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0) throw missing(`${keys.from} names no keys`);
  const parsed = items.map((item) => keyItem(item, keys.from));
  const byAlias = new Map<string, KeyItem>();
  for (const k of parsed) {
    if (byAlias.has(k.alias)) throw invalid(`${keys.from}: alias ${k.alias} is given twice`);
    byAlias.set(k.alias, k);
  }
  const { format, file, authority } = sources.perKey;
  for (const [alias, value, from] of perKey(format)) {
    keyOf(byAlias, alias, from).format = checkedFormat(value, alias, from);
  }
  for (const [alias, value, from] of perKey(file)) keyOf(byAlias, alias, from).file = value;
  for (const [alias, value, from] of perKey(authority)) {
    keyOf(byAlias, alias, from).attestationUrl = httpsUrl({ value, from: `${from} ${alias}` }, true);
  }

  const paths = new Map<string, string>();
  return parsed.map((k) => {
    const vaultUrl = k.vaultUrl ?? sources.vaultUrl;
    if (vaultUrl === undefined) {
      throw missing(
        `key ${k.alias} names no vault: ${OPTIONS.vaultUrl[1]} (or ${OPTIONS.vaultUrl[0]}) is not set`,
        `or give the key as a key ID: ${k.alias}=https://<vault>/keys/${k.name}`,
      );
    }
    const attestationUrl = k.attestationUrl ?? sources.attestationUrl;
    if (attestationUrl === undefined) {
      throw missing(
        `key ${k.alias} names no attestation authority: ${OPTIONS.attestationUrl[1]} (or ${OPTIONS.attestationUrl[0]}) is not set`,
        `or give it per key: ${OPTIONS.authority[0]} ${k.alias}=https://<instance>.attest.azure.net`,
      );
    }
    const target = path.resolve(outputDir, k.file ?? k.alias);
    const rel = path.relative(outputDir, target);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw invalid(
        `key ${k.alias}: path ${JSON.stringify(k.file)} is outside the output directory ${outputDir}`,
        'keys are written only to the tmpfs volume',
      );
    }
    const clash = paths.get(target);
    if (clash !== undefined) throw invalid(`keys ${clash} and ${k.alias} would both be written to ${target}`);
    paths.set(target, k.alias);
    return {
      alias: k.alias,
      vaultUrl,
      name: k.name,
      ...(k.version === undefined ? {} : { version: k.version }),
      attestationUrl,
      format: k.format,
      path: target,
    };
  });
}

interface KeyItem {
  alias: string;
  vaultUrl?: string;
  name: string;
  version?: string;
  attestationUrl?: string;
  format: KeyFormat;
  file?: string;
}

const ALIAS = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** Key Vault key names: 1–127 letters, digits and dashes. */
const KEY_NAME = /^[A-Za-z0-9-]{1,127}$/;
const KEY_VERSION = /^[A-Za-z0-9]{1,64}$/;
/** A key ID: the vault origin, `/keys/<name>`, an optional `/<version>`; then `:format[:path]`. */
const KEY_ID = /^(https:\/\/[^/]+)\/keys\/([^/:]+)(?:\/([^/:]+))?\/?(?::(.*))?$/;

function keyItem(item: string, from: string): KeyItem {
  const syntax =
    'expected alias=name[@version][:format[:path]] or alias=https://<vault>/keys/<name>[/<version>]';
  const eq = item.indexOf('=');
  if (eq <= 0) throw invalid(`${from}: ${JSON.stringify(item)} is not a key`, syntax);
  const alias = checkedAlias(item.slice(0, eq), from);
  const ref = item.slice(eq + 1);
  let vaultUrl: string | undefined;
  let name: string;
  let version: string | undefined;
  let rest: string[];
  const id = KEY_ID.exec(ref);
  if (id) {
    vaultUrl = httpsUrl({ value: id[1]!, from: `${from} ${alias}` }, true);
    name = id[2]!;
    version = id[3];
    rest = id[4] === undefined ? [] : id[4].split(':');
  } else if (ref.startsWith('https:') || ref.startsWith('http:')) {
    throw invalid(`${from}: key ${alias}: ${JSON.stringify(ref)} is not a key ID`, syntax);
  } else {
    const [nameAndVersion = '', ...more] = ref.split(':');
    const [n = '', v, ...extra] = nameAndVersion.split('@');
    if (extra.length > 0)
      throw invalid(`${from}: key ${alias}: ${JSON.stringify(nameAndVersion)} has two versions`);
    name = n;
    version = v;
    rest = more;
  }
  if (!KEY_NAME.test(name)) {
    throw invalid(`${from}: key ${alias}: ${JSON.stringify(name)} is not a vault key name`, syntax);
  }
  if (version !== undefined && !KEY_VERSION.test(version)) {
    throw invalid(`${from}: key ${alias}: ${JSON.stringify(version)} is not a key version`, syntax);
  }
  const [format = 'raw', ...file] = rest;
  return {
    alias,
    ...(vaultUrl === undefined ? {} : { vaultUrl }),
    name,
    ...(version === undefined ? {} : { version }),
    format: checkedFormat(format, alias, from),
    ...(file.length === 0 ? {} : { file: file.join(':') }),
  };
}

function checkedAlias(alias: string, from: string): string {
  if (!ALIAS.test(alias)) {
    throw invalid(`${from}: alias ${JSON.stringify(alias)} is not a file-name-safe label`);
  }
  return alias;
}

function checkedFormat(format: string, alias: string, from: string): KeyFormat {
  if (!(KEY_FORMATS as readonly string[]).includes(format)) {
    throw invalid(
      `${from}: key ${alias}: format ${JSON.stringify(format)} is not one of ${KEY_FORMATS.join(', ')}`,
    );
  }
  return format as KeyFormat;
}

/** `alias=value` items of a per-key option. */
function perKey(source: Sourced | undefined): [string, string, string][] {
  if (source === undefined) return [];
  return source.value
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq <= 0 || eq === item.length - 1) {
        throw invalid(`${source.from}: ${JSON.stringify(item)} is not alias=value`);
      }
      return [checkedAlias(item.slice(0, eq), source.from), item.slice(eq + 1), source.from];
    });
}

function keyOf(keys: Map<string, KeyItem>, alias: string, from: string): KeyItem {
  const key = keys.get(alias);
  if (!key)
    throw invalid(`${from}: no key has alias ${alias}`, `the keys are: ${[...keys.keys()].join(', ')}`);
  return key;
}

function oneOf<T extends string>(v: Sourced, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v.value)) {
    throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected one of ${allowed.join(', ')}`);
  }
  return v.value as T;
}

function parsedUrl(v: Sourced): URL {
  try {
    return new URL(v.value);
  } catch {
    throw invalid(`${v.from}=${JSON.stringify(v.value)} is not a URL`);
  }
}

/** An https URL; `originOnly` refuses a path, query or credentials (vault and MAA are origins). */
function httpsUrl(v: Sourced, originOnly: boolean): string {
  const url = parsedUrl(v);
  if (url.protocol !== 'https:') throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an https URL`);
  if (url.username || url.password) throw invalid(`${v.from} must not carry credentials`);
  if (originOnly && (url.pathname !== '/' || url.search || url.hash)) {
    throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an origin (no path or query)`);
  }
  return originOnly ? url.origin : v.value.replace(/\/+$/, '');
}

/** THIM is plain http on IMDS; https is accepted too. */
function httpUrl(v: Sourced): string {
  const url = parsedUrl(v);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an http or https URL`);
  }
  return url.origin;
}

function absolutePath(v: Sourced): string {
  if (!path.isAbsolute(v.value))
    throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an absolute path`);
  return path.normalize(v.value);
}

function bool(v: Sourced | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (v.value === 'true') return true;
  if (v.value === 'false') return false;
  throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected true or false`);
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function port(v: Sourced): number {
  const n = Number(v.value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected a port number`);
  return n;
}

function duration(v: Sourced, minMs: number): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(v.value);
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!Number.isSafeInteger(ms) || ms < minMs) {
    throw invalid(
      `${v.from}=${JSON.stringify(v.value)}: expected a duration such as 500ms, 30s or 2m${minMs > 0 ? ` (at least ${minMs} ms)` : ''}`,
    );
  }
  return ms;
}

function fileOwner(v: Sourced): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(v.value);
  if (!m) throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected uid or uid:gid (numbers)`);
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/** PEM given inline (environment): certificates only, and not beside the file form of the same option. */
function inlinePem(v: Sourced | undefined, fileForm: Sourced | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (fileForm !== undefined) throw invalid(`${v.from} and ${fileForm.from} are both set; choose one`);
  // Flags join repeated values with commas; PEM has none, so this is the text as given.
  if (!v.value.includes('-----BEGIN CERTIFICATE-----') || /PRIVATE KEY/.test(v.value)) {
    throw invalid(`${v.from}: expected PEM certificates (and nothing else)`);
  }
  return v.value + '\n';
}

/** Reads a PEM file the configuration names; the error names the option. */
export async function readConfigPem(file: string, option: Option): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw invalid(
      `${OPTIONS[option][1]}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid(`${OPTIONS[option][1]}: ${file} holds no PEM certificate`);
  }
  return text;
}
