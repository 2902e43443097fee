/**
 * Where the API server is and how to authenticate to it: the current context of the kubeconfig files
 * kubectl would read ($KUBECONFIG's files merged, or ~/.kube/config) or the in-cluster service account.
 * Ours rather than client-node's KubeConfig: importing client-node loads its whole generated API
 * (~55 MiB of resident memory), which the operator's 200 MiB budget cannot afford
 * (docs/adr/0012-operator-memory.md).
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
      // Not the error's message: it quotes the command line, whose arguments may hold a secret.
      const { code, signal } = err as { code?: unknown; signal?: unknown };
      fail(
        source,
        `exec credential plugin ${exec.command} failed (${signal ? `signal ${signal}` : `exit ${code}`})`,
      );
    }
    let status: Record<string, string>;
    try {
      status = ((JSON.parse(out) as { status?: Record<string, string> }).status ?? {}) as Record<
        string,
        string
      >;
    } catch {
      // Not the parser's message: it quotes the output, which holds the credential.
      fail(source, `exec credential plugin ${exec.command} printed no ExecCredential JSON`);
    }
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

/** A cluster, user or context, with the directory its relative file paths resolve against. */
interface Stanza {
  entry: Record<string, unknown>;
  dir: string;
}

/** Several kubeconfig files merged the way client-go merges them (see `defaultKubeAccess`). */
interface MergedKubeconfig {
  source: string;
  /** How many of the files existed. */
  read: number;
  currentContext: string | undefined;
  contexts: Map<string, Stanza>;
  clusters: Map<string, Stanza>;
  users: Map<string, Stanza>;
}

const SECTIONS = [
  ['contexts', 'context'],
  ['clusters', 'cluster'],
  ['users', 'user'],
] as const;

/**
 * client-go's merge (clientcmd ClientConfigLoadingRules.Load): files in order; a missing one is skipped
 * unless `mustExist`, an unreadable or unparsable one is an error; the first file to name a cluster,
 * user or context wins whole (a later entry of the same name is discarded, even its other fields), and
 * so does the first file to set current-context; relative paths resolve against the file that said them.
 */
function mergeKubeconfigs(files: string[], mustExist: boolean): MergedKubeconfig {
  const merged: MergedKubeconfig = {
    source: `kubeconfig ${files.join(path.delimiter)}`,
    read: 0,
    currentContext: undefined,
    contexts: new Map(),
    clusters: new Map(),
    users: new Map(),
  };
  for (const file of files) {
    let doc: Record<string, unknown>;
    try {
      doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (err) {
      if (!mustExist && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      fail(`kubeconfig ${file}`, `cannot be read: ${readProblem(err)}`);
    }
    merged.read += 1;
    const dir = path.dirname(path.resolve(file));
    const current = doc['current-context'];
    if (merged.currentContext === undefined && typeof current === 'string' && current !== '')
      merged.currentContext = current;
    for (const [section, field] of SECTIONS) {
      const list = Array.isArray(doc[section]) ? (doc[section] as unknown[]) : [];
      for (const item of list as Array<Record<string, unknown> | null>) {
        const name = item?.['name'];
        if (typeof name !== 'string' || merged[section].has(name)) continue;
        merged[section].set(name, { entry: (item?.[field] ?? {}) as Record<string, unknown>, dir });
      }
    }
  }
  return merged;
}

/** The access a context of a merged kubeconfig describes (its current context by default). */
function accessOf(config: MergedKubeconfig, context?: string): KubeAccess {
  const { source } = config;
  const ctxName = context ?? config.currentContext;
  if (!ctxName) fail(source, 'has no current-context');
  const ctx = config.contexts.get(ctxName)?.entry as Record<string, string> | undefined;
  if (!ctx) fail(source, `has no context ${JSON.stringify(ctxName)}`);
  const clusterStanza = config.clusters.get(ctx['cluster'] ?? '');
  const cluster = clusterStanza?.entry;
  if (!clusterStanza || !cluster || typeof cluster['server'] !== 'string')
    fail(source, `context ${ctxName} names no cluster with a server`);
  const userStanza = config.users.get(ctx['user'] ?? '');
  const user = userStanza?.entry ?? {};
  const userDir = userStanza?.dir ?? '.';
  if (user['auth-provider'])
    fail(source, `user ${ctx['user']}: auth-provider plugins are not supported; use exec (kubelogin)`);

  const tls: KubeTls = {};
  const ca = fileOrData(
    clusterStanza.dir,
    cluster['certificate-authority'],
    cluster['certificate-authority-data'],
  );
  if (ca) tls.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  const cert = fileOrData(userDir, user['client-certificate'], user['client-certificate-data']);
  const key = fileOrData(userDir, user['client-key'], user['client-key-data']);
  if (cert && key) {
    tls.cert = cert;
    tls.key = key;
  }
  let authorization: () => Promise<string | undefined> = async () => undefined;
  if (typeof user['token'] === 'string' && user['token'] !== '') {
    const token = user['token'];
    authorization = async () => `Bearer ${token}`;
  } else if (typeof user['tokenFile'] === 'string') {
    const tokenFile = path.resolve(userDir, user['tokenFile']);
    authorization = async () => `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
  } else if (user['exec']) {
    authorization = execAuth(user['exec'] as ExecConfig, source, tls);
  } else if (typeof user['username'] === 'string') {
    const basic = Buffer.from(`${user['username']}:${String(user['password'] ?? '')}`).toString('base64');
    authorization = async () => `Basic ${basic}`;
  }
  return { server: (cluster['server'] as string).replace(/\/+$/, ''), tls, authorization, source };
}

/** A context (the current one by default) of one kubeconfig file, which must exist (`kubectl --kubeconfig`). */
export function kubeAccessFromFile(file: string, context?: string): KubeAccess {
  return accessOf(mergeKubeconfigs([file], true), context);
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

/**
 * What kubectl and client-go use: the files listed in $KUBECONFIG (path-delimiter separated; every one
 * read and merged, missing ones skipped — see `mergeKubeconfigs`), or ~/.kube/config when $KUBECONFIG is
 * unset or empty. When none of them exists or none sets a current context, the in-cluster service account.
 * `context` picks a context other than the current one (`kubectl --context`).
 */
export function defaultKubeAccess(env: NodeJS.ProcessEnv = process.env, context?: string): KubeAccess {
  const list = env['KUBECONFIG'] ?? '';
  const files =
    list === ''
      ? [path.join(env['HOME'] ?? homedir(), '.kube', 'config')]
      : list.split(path.delimiter).filter((f) => f !== '');
  const config = mergeKubeconfigs(files, false);
  // As client-go: no kubeconfig, or one that names no current context, yields to the pod's own account.
  const inPod = env['KUBERNETES_SERVICE_HOST'] !== undefined;
  const noContext = context === undefined && config.currentContext === undefined;
  if (inPod && (config.read === 0 || noContext)) return inClusterAccess(env);
  if (config.read === 0)
    fail(config.source, 'no such file, and KUBERNETES_SERVICE_HOST is not set (not in a pod)');
  return accessOf(config, context);
}

/**
 * Why a kubeconfig could not be read, without its content: a YAML error's message quotes the offending
 * line, which may be a `token:` or `client-key-data:` line, so only its position is kept.
 */
function readProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { linePos?: Array<{ line: number; col: number }> };
  if (e.code && e.syscall) return e.message; // a file-system error names the path, not the content
  const at = e.linePos?.[0];
  return at ? `not valid YAML at line ${at.line}, column ${at.col}` : 'not valid YAML';
}
