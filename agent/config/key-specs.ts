/**
 * The key-spec grammar: which keys the agent fetches and where each is written, from SECUREKEY_KEYS (or
 * `--key`) and the per-key `--format`, `--file`, `--authority` and (sidecar) `--rotation` lists the
 * injector writes.
 */
import path from 'node:path';
import { AGENT_OPTIONS } from '../../core/inject/agent-contract.ts';
import { KEY_FORMATS, type KeyFormat } from '../../core/keys/output-formats.ts';
import type { KeySpec } from './options.ts';
import { duration, httpsUrl, invalid, missing, type Sourced } from './validators.ts';

export interface KeySources {
  keys: Sourced;
  /** Defaults for keys that name only a key (SECUREKEY_VAULT_URL, SECUREKEY_ATTESTATION_URL). */
  vaultUrl?: string;
  attestationUrl?: string;
  /** `alias=value` lists that set one field of named keys (what the injector writes). */
  perKey: {
    format: Sourced | undefined;
    file: Sourced | undefined;
    authority: Sourced | undefined;
    rotation?: Sourced | undefined;
  };
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
  const { format, file, authority, rotation } = sources.perKey;
  for (const [alias, value, from] of perKey(format)) {
    keyOf(byAlias, alias, from).format = checkedFormat(value, alias, from);
  }
  for (const [alias, value, from] of perKey(file)) keyOf(byAlias, alias, from).file = value;
  for (const [alias, value, from] of perKey(authority)) {
    keyOf(byAlias, alias, from).attestationUrl = httpsUrl({ value, from: `${from} ${alias}` }, true);
  }

  for (const [alias, value, from] of perKey(rotation)) {
    keyOf(byAlias, alias, from).rotationMs = duration({ value, from: `${from} ${alias}` }, MIN_ROTATION_MS);
  }

  const paths = new Map<string, string>();
  return parsed.map((k) => {
    const vaultUrl = k.vaultUrl ?? sources.vaultUrl;
    if (vaultUrl === undefined) {
      throw missing(
        `key ${k.alias} names no vault: ${AGENT_OPTIONS.vaultUrl.variable} (or ${AGENT_OPTIONS.vaultUrl.flag}) is not set`,
        `or give the key as a key ID: ${k.alias}=https://<vault>/keys/${k.name}`,
      );
    }
    const attestationUrl = k.attestationUrl ?? sources.attestationUrl;
    if (attestationUrl === undefined) {
      throw missing(
        `key ${k.alias} names no attestation authority: ${AGENT_OPTIONS.attestationUrl.variable} (or ${AGENT_OPTIONS.attestationUrl.flag}) is not set`,
        `or give it per key: ${AGENT_OPTIONS.authority.flag} ${k.alias}=https://<instance>.attest.azure.net`,
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
      ...(k.rotationMs === undefined ? {} : { rotationMs: k.rotationMs }),
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
  rotationMs?: number;
}

/** The CRD's floor for spec.rotation.interval. */
const MIN_ROTATION_MS = 3_600_000;

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
