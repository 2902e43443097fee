/**
 * Node mode's configuration (ADR 14), from arguments and environment only: the node agent's URL and the
 * CA its certificate must chain to, the projected token to present, and the keys by alias and SecureKey
 * name. No I/O; errors are AgentErrors (step `config`) naming the flag or variable.
 */
import path from 'node:path';
import { ALIAS, FILE, NAME } from '../../core/inject/index.ts';
import { KEY_FORMATS, type KeyFormat } from '../../core/keys/output-formats.ts';
import { DEFAULT_OUTPUT_DIR, READY_FILE_NAME } from '../config.ts';
import { AgentError } from '../errors.ts';

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
  timeoutMs: number;
}

export const DEFAULT_NODE_TOKEN_FILE = '/var/run/secrets/securekey/node/token';

const bad = (message: string, hint?: string) =>
  new AgentError('config-invalid', message, { step: 'config', ...(hint ? { hint } : {}) });

/** `node --node-agent-url URL --node-agent-ca FILE --key=<alias>=<SecureKey> [--format=<alias>=pem] [--file=<alias>=f]`. */
export function parseNodeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): NodeConfig {
  const flags = new Map<string, string[]>();
  for (const arg of argv.slice(1)) {
    const m = /^(--[a-z-]+)=(.*)$/s.exec(arg);
    if (!m) throw bad(`unexpected argument ${JSON.stringify(arg)}`, 'node mode takes --flag=value arguments');
    flags.set(m[1]!, [...(flags.get(m[1]!) ?? []), m[2]!]);
  }
  const known = [
    '--node-agent-url',
    '--node-agent-ca',
    '--token-file',
    '--key',
    '--format',
    '--file',
    '--output-dir',
    '--timeout',
  ];
  for (const f of flags.keys())
    if (!known.includes(f)) throw bad(`unknown flag ${f}`, `known flags: ${known.join(', ')}`);
  const one = (flag: string, variable: string): string | undefined =>
    flags.get(flag)?.at(-1) ?? env[variable];
  const url = one('--node-agent-url', 'SECUREKEY_NODE_AGENT_URL');
  if (!url)
    throw new AgentError('config-missing', 'SECUREKEY_NODE_AGENT_URL (or --node-agent-url) is not set', {
      step: 'config',
    });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad(`--node-agent-url ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'https:') throw bad(`--node-agent-url ${parsed.origin} must be https`);
  const caFile = one('--node-agent-ca', 'SECUREKEY_NODE_AGENT_CA');
  if (!caFile) {
    throw new AgentError('config-missing', 'SECUREKEY_NODE_AGENT_CA (or --node-agent-ca) is not set', {
      step: 'config',
      hint: 'the PEM CA the node agent’s certificate chains to; system roots are not used',
    });
  }
  const outputDir = path.resolve(one('--output-dir', 'SECUREKEY_OUTPUT_DIR') ?? DEFAULT_OUTPUT_DIR);
  const perAlias = (flag: string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const v of flags.get(flag) ?? []) {
      const i = v.indexOf('=');
      if (i <= 0) throw bad(`${flag}=${JSON.stringify(v)}: expected <alias>=<value>`);
      m.set(v.slice(0, i), v.slice(i + 1));
    }
    return m;
  };
  const formats = perAlias('--format');
  const files = perAlias('--file');
  const keys: NodeKeyRequest[] = [...perAlias('--key')].map(([alias, secureKey]) => {
    if (!ALIAS.test(alias)) throw bad(`--key: alias ${JSON.stringify(alias)} must be a DNS label`);
    if (!NAME.test(secureKey))
      throw bad(`--key=${alias}: ${JSON.stringify(secureKey)} is not a SecureKey name`);
    const format = formats.get(alias) ?? 'raw';
    if (!(KEY_FORMATS as readonly string[]).includes(format)) {
      throw bad(`--format=${alias}: ${JSON.stringify(format)} is not one of ${KEY_FORMATS.join(', ')}`);
    }
    const file = files.get(alias) ?? alias;
    if (!FILE.test(file) || file === '.' || file === '..')
      throw bad(`--file=${alias}: ${JSON.stringify(file)} must be a plain file name`);
    return { alias, secureKey, format: format as KeyFormat, path: path.join(outputDir, file) };
  });
  if (keys.length === 0)
    throw new AgentError('config-missing', 'no --key=<alias>=<SecureKey> given', { step: 'config' });
  const timeout = one('--timeout', 'SECUREKEY_TIMEOUT') ?? '120s';
  const t = /^(\d+)s$/.exec(timeout);
  if (!t) throw bad(`--timeout=${JSON.stringify(timeout)}: expected seconds such as 120s`);
  return {
    url: parsed.origin,
    caFile,
    tokenFile: one('--token-file', 'SECUREKEY_NODE_TOKEN_FILE') ?? DEFAULT_NODE_TOKEN_FILE,
    keys,
    outputDir,
    readyFile: path.join(outputDir, READY_FILE_NAME),
    timeoutMs: Number(t[1]) * 1000,
  };
}
