/**
 * Node mode's configuration (ADR 14), from arguments and environment only: the node agent's URL and the
 * CA its certificate must chain to, the projected token to present, and the keys by alias and SecureKey
 * name. Flags and variables are the injector's (core/inject/agent-contract.ts NODE_OPTIONS). No I/O;
 * errors are AgentErrors (step `config`) naming the flag or variable.
 */
import path from 'node:path';
import {
  KEY_FILE_MODES,
  KEYS_MOUNT_PATH,
  NODE_OPTIONS,
  NODE_TOKEN_MOUNT_PATH,
  type AgentMode,
  type KeyFileMode,
} from '../../core/inject/agent-contract.ts';
import { ALIAS, FILE, NAME } from '../../core/inject/requests.ts';
import { KEY_FORMATS, type KeyFormat } from '../../core/keys/output-formats.ts';
import { readArgs, READY_FILE_NAME, type Env } from '../config/options.ts';
import { bool, invalid, missing, oneOf } from '../config/validators.ts';

export interface NodeKeyRequest {
  alias: string;
  secureKey: string;
  format: KeyFormat;
  path: string;
}

export interface NodeConfig {
  url: string;
  caFile: string;
  tokenFile: string;
  keys: NodeKeyRequest[];
  outputDir: string;
  readyFile: string;
  /** As init mode's (ADR 21). */
  fileMode: KeyFileMode;
  allowDiskOutput: boolean;
  timeoutMs: number;
}

export const DEFAULT_NODE_TOKEN_FILE = `${NODE_TOKEN_MOUNT_PATH}/token`;

/** `node --node-agent-url URL --node-agent-ca FILE --key=<alias>=<SecureKey> [--format=<alias>=pem] [--file=<alias>=f]`. */
export function parseNodeConfig(argv: readonly string[], env: Env): NodeConfig {
  const { mode, get } = readArgs(argv, NODE_OPTIONS, env);
  const node: AgentMode = 'node';
  if (mode !== node) throw invalid(`mode ${JSON.stringify(mode)} is not node mode`);
  const url = get('nodeAgentUrl');
  if (!url) {
    const { flag, variable } = NODE_OPTIONS.nodeAgentUrl;
    throw missing(`${variable} (or ${flag}) is not set`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url.value);
  } catch {
    throw invalid(`${url.from}=${JSON.stringify(url.value)} is not a URL`);
  }
  if (parsed.protocol !== 'https:') throw invalid(`${url.from} ${parsed.origin} must be https`);
  const caFile = get('nodeAgentCa');
  if (!caFile) {
    const { flag, variable } = NODE_OPTIONS.nodeAgentCa;
    throw missing(
      `${variable} (or ${flag}) is not set`,
      'the PEM CA the node agent’s certificate chains to; system roots are not used',
    );
  }
  const outputDir = path.resolve(get('outputDir')?.value ?? KEYS_MOUNT_PATH);
  const perAlias = (option: 'keys' | 'format' | 'file'): Map<string, string> => {
    const { flag } = NODE_OPTIONS[option];
    const m = new Map<string, string>();
    for (const v of get(option)?.value.split(',') ?? []) {
      const i = v.indexOf('=');
      if (i <= 0) throw invalid(`${flag}=${JSON.stringify(v)}: expected <alias>=<value>`);
      m.set(v.slice(0, i), v.slice(i + 1));
    }
    return m;
  };
  const formats = perAlias('format');
  const files = perAlias('file');
  const [key, fmt, fil] = [NODE_OPTIONS.keys.flag, NODE_OPTIONS.format.flag, NODE_OPTIONS.file.flag];
  const keys: NodeKeyRequest[] = [...perAlias('keys')].map(([alias, secureKey]) => {
    if (!ALIAS.test(alias)) throw invalid(`${key}: alias ${JSON.stringify(alias)} must be a DNS label`);
    if (!NAME.test(secureKey))
      throw invalid(`${key}=${alias}: ${JSON.stringify(secureKey)} is not a SecureKey name`);
    const format = formats.get(alias) ?? 'raw';
    if (!(KEY_FORMATS as readonly string[]).includes(format)) {
      throw invalid(`${fmt}=${alias}: ${JSON.stringify(format)} is not one of ${KEY_FORMATS.join(', ')}`);
    }
    const file = files.get(alias) ?? alias;
    if (!FILE.test(file) || file === '.' || file === '..')
      throw invalid(`${fil}=${alias}: ${JSON.stringify(file)} must be a plain file name`);
    return { alias, secureKey, format: format as KeyFormat, path: path.join(outputDir, file) };
  });
  if (keys.length === 0) throw missing(`no ${key}=<alias>=<SecureKey> given`);
  const timeout = get('timeout') ?? { value: '120s', from: NODE_OPTIONS.timeout.variable };
  const t = /^(\d+)s$/.exec(timeout.value);
  if (!t) throw invalid(`${timeout.from}=${JSON.stringify(timeout.value)}: expected seconds such as 120s`);
  return {
    url: parsed.origin,
    caFile: caFile.value,
    tokenFile: get('tokenFile')?.value ?? DEFAULT_NODE_TOKEN_FILE,
    keys,
    outputDir,
    readyFile: path.join(outputDir, READY_FILE_NAME),
    fileMode: oneOf(get('fileMode') ?? { value: '0400', from: NODE_OPTIONS.fileMode.flag }, KEY_FILE_MODES),
    allowDiskOutput: bool(get('allowDiskOutput'), false),
    timeoutMs: Number(t[1]) * 1000,
  };
}
