/**
 * Where the API server is and how to authenticate to it: the current context of a kubeconfig
 * ($KUBECONFIG, first file, or ~/.kube/config) or the in-cluster service account. Ours rather than
 * client-node's KubeConfig: importing client-node loads its whole generated API (~55 MiB of resident
 * memory), which the operator's 200 MiB budget cannot afford (docs/adr/0010-own-informer-over-raw-json.md).
 *
 * Supported: server CA (file or data, or insecure-skip-tls-verify), client certificates (file or data),
 * bearer tokens (inline or tokenFile, re-read on use), exec credential plugins (kubelogin on AKS), and
 * in-cluster config. Not supported: auth-provider plugins (gcp/azure, removed from kubectl in 1.26).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { KubeApiError } from './errors.ts';

export interface KubeTls {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface KubeAccess {
  server: string;
  tls: KubeTls;
  /** Fresh Authorization header value (or undefined) for each request. */
  authorization(): Promise<string | undefined>;
  /** Where it came from, for messages. */
  source: string;
}

interface ExecConfig {
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion?: string;
}

const IN_CLUSTER = '/var/run/secrets/kubernetes.io/serviceaccount';

function fail(source: string, message: string): never {
  throw new KubeApiError('no-cluster', `${source}: ${message}`);
}

function fileOrData(base: string, file: unknown, data: unknown): string | undefined {
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  if (typeof file === 'string' && file !== '') return readFileSync(path.resolve(base, file), 'utf8');
  return undefined;
}

function named<T>(list: unknown, name: string, field: string): T | undefined {
  const found = (Array.isArray(list) ? list : []).find((x: { name?: string }) => x?.name === name) as
    Record<string, unknown> | undefined;
  return found?.[field] as T | undefined;
}

const execAsync = promisify(execFile);

/** An exec credential plugin's token (or client certificate), cached until shortly before it expires. */
function execAuth(exec: ExecConfig, source: string, tls: KubeTls): () => Promise<string | undefined> {
  let cached: { token?: string; until: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token ? `Bearer ${cached.token}` : undefined;
    const env = { ...process.env };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    env['KUBERNETES_EXEC_INFO'] = JSON.stringify({
      apiVersion: exec.apiVersion ?? 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    let out: string;
    try {
      out = (await execAsync(exec.command, exec.args ?? [], { env, timeout: 60_000 })).stdout;
    } catch (err) {
      fail(source, `exec credential plugin ${exec.command} failed: ${(err as Error).message.split('\n')[0]}`);
    }
    const status = ((JSON.parse(out) as { status?: Record<string, string> }).status ?? {}) as Record<
      string,
      string
    >;
    if (status['clientCertificateData'] && status['clientKeyData']) {
      tls.cert = status['clientCertificateData'];
      tls.key = status['clientKeyData'];
    }
    const expires = status['expirationTimestamp'] ? Date.parse(status['expirationTimestamp']) : NaN;
    cached = {
      ...(status['token'] ? { token: status['token'] } : {}),
      until: Number.isNaN(expires) ? Date.now() + 5 * 60_000 : expires - 60_000,
    };
    return cached.token ? `Bearer ${cached.token}` : undefined;
  };
}

/** The current context of a kubeconfig file. */
export function kubeAccessFromFile(file: string, context?: string): KubeAccess {
  const source = `kubeconfig ${file}`;
  let doc: Record<string, unknown>;
  try {
    doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    fail(source, `cannot be read: ${(err as Error).message}`);
  }
  const base = path.dirname(path.resolve(file));
  const ctxName = context ?? (doc['current-context'] as string | undefined);
  if (!ctxName) fail(source, 'has no current-context');
  const ctx = named<Record<string, string>>(doc['contexts'], ctxName, 'context');
  if (!ctx) fail(source, `has no context ${JSON.stringify(ctxName)}`);
  const cluster = named<Record<string, unknown>>(doc['clusters'], ctx['cluster'] ?? '', 'cluster');
  if (!cluster || typeof cluster['server'] !== 'string')
    fail(source, `context ${ctxName} names no cluster with a server`);
  const user = named<Record<string, unknown>>(doc['users'], ctx['user'] ?? '', 'user') ?? {};
  if (user['auth-provider'])
    fail(source, `user ${ctx['user']}: auth-provider plugins are not supported; use exec (kubelogin)`);

  const tls: KubeTls = {};
  const ca = fileOrData(base, cluster['certificate-authority'], cluster['certificate-authority-data']);
  if (ca) tls.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  const cert = fileOrData(base, user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(base, user['client-key'], user['client-key-data']);
  if (cert && key) {
    tls.cert = cert;
    tls.key = key;
  }
  let authorization: () => Promise<string | undefined> = async () => undefined;
  if (typeof user['token'] === 'string' && user['token'] !== '') {
    const token = user['token'];
    authorization = async () => `Bearer ${token}`;
  } else if (typeof user['tokenFile'] === 'string') {
    const tokenFile = path.resolve(base, user['tokenFile']);
    authorization = async () => `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
  } else if (user['exec']) {
    authorization = execAuth(user['exec'] as ExecConfig, source, tls);
  } else if (typeof user['username'] === 'string') {
    const basic = Buffer.from(`${user['username']}:${String(user['password'] ?? '')}`).toString('base64');
    authorization = async () => `Basic ${basic}`;
  }
  return { server: (cluster['server'] as string).replace(/\/+$/, ''), tls, authorization, source };
}

/** In a pod: the service account token (re-read, kubelet rotates it) and the cluster CA. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER): KubeAccess {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (!host) fail('in-cluster config', 'KUBERNETES_SERVICE_HOST is not set');
  const tokenFile = path.join(dir, 'token');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(path.join(dir, 'ca.crt'), 'utf8') },
    authorization: async () => `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
    source: 'in-cluster service account',
  };
}

/** $KUBECONFIG (first file), then ~/.kube/config, then in-cluster — what kubectl and client-go do. */
export function defaultKubeAccess(env: NodeJS.ProcessEnv = process.env): KubeAccess {
  const fromEnv = env['KUBECONFIG']?.split(path.delimiter).find((f) => f !== '');
  if (fromEnv) return kubeAccessFromFile(fromEnv);
  const home = path.join(env['HOME'] ?? homedir(), '.kube', 'config');
  try {
    readFileSync(home);
    return kubeAccessFromFile(home);
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
  }
  return inClusterAccess(env);
}
