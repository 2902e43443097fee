/**
 * The node agent over real TLS, against a stand-in Kubernetes API (TokenReview, pods, SecureKeys, as
 * the API server answers them) and a fake key source (no TPM, attestation or vault: what is tested is
 * who gets which key, and how often the vault would be asked). Pods ask with the real node-mode client
 * (agent/node/node-client.ts), in process and as `securekey-agent node`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { APPROVAL_ANNOTATION, NODE_CONTAINERS_SCHEME, signApproval } from '../../core/approval/index.ts';
import { isErrorOf } from '../../core/errors.ts';
import { containerDigest } from '../../core/workload/index.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { createSimulatorCa } from '../../sim/common/tls.ts';
import { FakeKeySource } from '../../test/support/agent/fake-key-source.ts';
import { runAgentProcess } from '../../test/support/agent/world.ts';
import { AgentError } from '../errors.ts';
import { fetchFromNodeAgent } from '../node/node-client.ts';
import { parseNodeConfig } from '../node/node-config.ts';
import { KeySourceError } from './key-source.ts';
import { NodeServerMetrics } from './metrics.ts';
import { nodeKube } from './node-kube.ts';
import { ReleasedKeys } from './released-keys.ts';
import { startNodeServer, type NodeServer } from './server.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'securekey-node-server-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};
const ca = createSimulatorCa('node agent CA');
const leaf = ca.issue({ commonName: 'localhost', dns: ['localhost'], ip: ['127.0.0.1'] });
const caFile = write('ca.pem', ca.certPem);
const certFile = write('tls.crt', leaf.chainPem);
const keyFile = write('tls.key', leaf.keyPem);
const NODE = 'cvm-1';
const SECURE_KEY_TTL_MS = 1_000;
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const ci = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
    pub: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
})();

// --- the stand-in API server -------------------------------------------------------------------------

interface Token {
  namespace: string;
  pod: string;
  uid: string;
  audiences: string[];
}
const tokens = new Map<string, Token>();
const pods = new Map<string, Record<string, unknown>>();
const secureKeys = new Map<string, SecureKey>();
const apiCalls: string[] = [];

const podSpec = (command = ['/app']) => ({
  nodeName: NODE,
  serviceAccountName: 'web',
  initContainers: [{ name: 'securekey-agent', image: `reg/agent@${A}`, args: ['node'] }],
  containers: [{ name: 'app', image: `reg/app@${B}`, command }],
});

async function approvalFor(namespace: string, keys: string[], spec = podSpec()): Promise<string> {
  return signApproval(
    {
      namespace,
      secureKeys: keys,
      scheme: NODE_CONTAINERS_SCHEME,
      digest: containerDigest(spec).digest,
      iat: Math.floor(Date.now() / 1000) - 60,
    },
    ci.priv,
  );
}

/** A pod on this node asking for `keys` (alias = SecureKey name), and a token bound to it. */
async function addPod(
  name: string,
  o: {
    namespace?: string;
    keys?: string[];
    node?: string;
    uid?: string;
    tokenUid?: string;
    audiences?: string[];
    approved?: boolean;
    spec?: ReturnType<typeof podSpec>;
  } = {},
): Promise<string> {
  const namespace = o.namespace ?? 'shop';
  const keys = o.keys ?? ['db-key'];
  const uid = o.uid ?? `uid-${name}`;
  const spec = { ...(o.spec ?? podSpec()), nodeName: o.node ?? NODE };
  pods.set(`${namespace}/${name}`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace,
      name,
      uid,
      labels: { app: 'web', 'securekey.io/inject': 'true' },
      annotations: {
        'securekey.io/agent-mode': 'node',
        ...Object.fromEntries(keys.map((k) => [`securekey.io/key-${k}`, k])),
        ...(o.approved === false ? {} : { [APPROVAL_ANNOTATION]: await approvalFor(namespace, keys) }),
      },
    },
    spec,
    status: {
      phase: 'Pending',
      initContainerStatuses: [{ name: 'securekey-agent', imageID: `reg/agent@${A}` }],
      containerStatuses: [{ name: 'app', imageID: '' }],
    },
  });
  const token = `token-${name}-${Math.random().toString(36).slice(2)}`;
  tokens.set(token, {
    namespace,
    pod: name,
    uid: o.tokenUid ?? uid,
    audiences: o.audiences ?? ['securekey-node'],
  });
  return write(`token-${name}`, token);
}

function secureKey(namespace: string, name: string, version = 'v1'): SecureKey {
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { namespace, name },
    spec: {
      vault: { url: 'https://contoso.vault.azure.net' },
      key: { name: `${namespace}-${name}`, type: 'oct-HSM' },
      attestation: { authorities: ['https://contoso.attest.azure.net'] },
      workloads: {
        podSelector: { matchLabels: { app: 'web' } },
        approvers: [{ name: 'ci', publicKey: ci.pub as never }],
      },
    },
    status: { key: { version } },
  };
}

function answerKube(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const url = new URL(req.url!, 'http://kube');
  apiCalls.push(`${req.method} ${url.pathname}`);
  const json = (status: number, o: unknown) =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(o));
  if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') {
    const { spec } = JSON.parse(body) as { spec: { token: string; audiences: string[] } };
    const t = tokens.get(spec.token);
    const audiences = (t?.audiences ?? []).filter((a) => spec.audiences.includes(a));
    // As the API server: a token valid for none of the audiences asked is not authenticated.
    if (!t || audiences.length === 0) {
      return json(201, {
        kind: 'TokenReview',
        status: { authenticated: false, error: 'invalid bearer token' },
      });
    }
    return json(201, {
      kind: 'TokenReview',
      status: {
        authenticated: true,
        audiences,
        user: {
          username: `system:serviceaccount:${t.namespace}:web`,
          extra: {
            'authentication.kubernetes.io/pod-name': [t.pod],
            'authentication.kubernetes.io/pod-uid': [t.uid],
          },
        },
      },
    });
  }
  const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && pod) {
    const p = pods.get(`${pod[1]}/${pod[2]}`);
    return p ? json(200, p) : json(404, { kind: 'Status', reason: 'NotFound', code: 404 });
  }
  const sk = /^\/apis\/securekey\.io\/v1alpha1\/namespaces\/([^/]+)\/securekeys\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && sk) {
    const s = secureKeys.get(`${sk[1]}/${sk[2]}`);
    return s ? json(200, s) : json(404, { kind: 'Status', reason: 'NotFound', code: 404 });
  }
  json(403, { kind: 'Status', reason: 'Forbidden', message: `not allowed: ${req.method} ${url.pathname}` });
}

// --- the node agent ----------------------------------------------------------------------------------

let kubeServer: http.Server;
let kube: KubeHttp;
let source: FakeKeySource;
let keys: ReleasedKeys;
let metrics: NodeServerMetrics;
let server: NodeServer;

async function startServer(
  o: { maxInFlight?: number; requestTimeoutMs?: number; tlsReloadMs?: number } = {},
) {
  await server?.close();
  keys?.clear();
  source = new FakeKeySource();
  metrics = new NodeServerMetrics();
  keys = new ReleasedKeys(source, { onRelease: (_, outcome) => metrics.release(outcome), backoffMs: 10 });
  server = await startNodeServer({
    host: '127.0.0.1',
    port: 0,
    certFile,
    keyFile,
    serve: {
      kube: nodeKube(kube, { secureKeyTtlMs: SECURE_KEY_TTL_MS }),
      keys,
      nodeName: NODE,
      admission: { runtimeClasses: [], noRuntimeClass: true },
    },
    source,
    metrics,
    ...o,
  });
}

beforeAll(async () => {
  kubeServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => answerKube(req, res, body));
  });
  await new Promise<void>((r) => kubeServer.listen(0, '127.0.0.1', r));
  kube = new KubeHttp({
    server: `http://127.0.0.1:${(kubeServer.address() as AddressInfo).port}`,
    tls: {},
    authorization: () => Promise.resolve('Bearer node-agent'),
    source: 'test',
  });
  for (const name of ['db-key', 'tls-key']) secureKeys.set(`shop/${name}`, secureKey('shop', name));
  secureKeys.set('bank/vault-key', secureKey('bank', 'vault-key'));
});
beforeEach(() => startServer());
afterAll(async () => {
  await server.close();
  keys.clear();
  kube.close();
  kubeServer.closeAllConnections();
  await new Promise((r) => kubeServer.close(r));
});

let outs = 0;
function clientConfig(tokenFile: string, keyNames: string[] = ['db-key'], ca = caFile) {
  return parseNodeConfig(
    [
      'node',
      `--node-agent-url=${server.url}`,
      `--node-agent-ca=${ca}`,
      `--token-file=${tokenFile}`,
      ...keyNames.map((k) => `--key=${k}=${k}`),
      `--output-dir=${path.join(dir, `out-${++outs}`)}`,
      '--timeout=5s',
    ],
    {},
  );
}

async function refusedWith(tokenFile: string, keyNames?: string[]): Promise<string> {
  const err = await fetchFromNodeAgent(clientConfig(tokenFile, keyNames)).catch((e: unknown) => e);
  expect(isErrorOf(err, AgentError, 'node-refused')).toBe(true);
  return (err as Error).message;
}

describe('node agent', () => {
  it('serves a pod of its node the keys its SecureKeys admit, written as pod mode writes them', async () => {
    const token = await addPod('web-0', { keys: ['db-key', 'tls-key'] });
    const config = clientConfig(token, ['db-key', 'tls-key']);
    const written = await fetchFromNodeAgent(config);
    for (const name of ['db-key', 'tls-key']) {
      const file = readFileSync(path.join(config.outputDir, name));
      expect(file.equals(source.plaintextOf({ keyName: `shop-${name}`, version: 'v1' }))).toBe(true);
    }
    expect(written.map((w) => w.kid)).toEqual([
      'https://contoso.vault.azure.net/keys/shop-db-key/v1',
      'https://contoso.vault.azure.net/keys/shop-tls-key/v1',
    ]);
    expect(source.calls.map((c) => [c.keyName, c.version, c.authority])).toEqual([
      ['shop-db-key', 'v1', 'https://contoso.attest.azure.net'],
      ['shop-tls-key', 'v1', 'https://contoso.attest.azure.net'],
    ]);
  });

  it('serves `securekey-agent node` run as a process, and logs no key material', async () => {
    const token = await addPod('web-proc');
    const out = path.join(dir, 'proc');
    const run = await runAgentProcess(
      {
        PATH: process.env['PATH'] ?? '',
        SECUREKEY_NODE_AGENT_URL: server.url,
        SECUREKEY_NODE_AGENT_CA: caFile,
        SECUREKEY_NODE_TOKEN_FILE: token,
        SECUREKEY_OUTPUT_DIR: out,
        SECUREKEY_ALLOW_DISK_OUTPUT: 'true', // under the OS temp directory
      },
      ['node', '--key=db=db-key'],
    );
    expect(run.code).toBe(0);
    const plaintext = source.plaintextOf({ keyName: 'shop-db-key', version: 'v1' });
    expect(readFileSync(path.join(out, 'db')).equals(plaintext)).toBe(true);
    expect(run.stdout + run.stderr).not.toContain(plaintext.toString('base64'));
  });

  it('refuses a pod of another node (403)', async () => {
    const token = await addPod('web-elsewhere', { node: 'cvm-2' });
    expect(await refusedWith(token)).toBe(
      'the node agent refused (HTTP 403): pod shop/web-elsewhere runs on node cvm-2, not on cvm-1',
    );
    expect(source.calls).toHaveLength(0);
  });

  it('refuses a token with another audience (401)', async () => {
    const token = await addPod('web-aud', { audiences: ['api://AzureADTokenExchange'] });
    expect(await refusedWith(token)).toBe(
      'the node agent refused (HTTP 401): the token is not accepted: the API server does not authenticate it',
    );
  });

  it('refuses a token bound to another pod of the same name (403)', async () => {
    const token = await addPod('web-uid', { tokenUid: 'uid-of-a-deleted-pod' });
    expect(await refusedWith(token)).toMatch(
      /^the node agent refused \(HTTP 403\): pod shop\/web-uid is not the token's pod/,
    );
  });

  it('refuses a SecureKey of another namespace (404), without reading that namespace', async () => {
    const token = await addPod('web-ns', { keys: ['vault-key'] });
    apiCalls.length = 0;
    expect(await refusedWith(token, ['vault-key'])).toBe(
      'the node agent refused (HTTP 404): SecureKey shop/vault-key does not exist',
    );
    expect(apiCalls.filter((c) => c.includes('/bank/'))).toEqual([]);
  });

  it('refuses a pod whose containers were not approved (403), or were changed after approval', async () => {
    const unapproved = await addPod('web-unapproved', { approved: false });
    expect(await refusedWith(unapproved)).toMatch(
      /^the node agent refused \(HTTP 403\): SecureKey shop\/db-key: pod shop\/web-unapproved is not approved \(no-approval/,
    );
    const changed = await addPod('web-changed', { spec: podSpec(['/bin/sh', '-c', 'cat /run/securekey/*']) });
    expect(await refusedWith(changed)).toMatch(/is not approved \(other-digest/);
    expect(source.calls).toHaveLength(0);
  });

  it('answers a burst of 50 pods with one release per key, and one SecureKey read per key', async () => {
    const tokenFiles = await Promise.all(
      Array.from({ length: 50 }, (_, i) => addPod(`burst-${i}`, { keys: ['db-key', 'tls-key'] })),
    );
    source.hold(); // every request arrives while the first releases are in flight
    apiCalls.length = 0;
    const fetches = tokenFiles.map((t) => fetchFromNodeAgent(clientConfig(t, ['db-key', 'tls-key'])));
    await new Promise((r) => setTimeout(r, 200));
    source.releaseHeld();
    const written = await Promise.all(fetches);
    expect(written).toHaveLength(50);
    expect(source.calls.map((c) => c.keyName).sort()).toEqual(['shop-db-key', 'shop-tls-key']);
    expect(apiCalls.filter((c) => c.includes('/securekeys/'))).toHaveLength(2);
    const scrape = await get('/metrics');
    expect(scrape.text).toContain('securekey_node_requests_total{code="OK"} 50');
    expect(scrape.text).toContain('securekey_node_releases_total{outcome="ok"} 2');
    expect(scrape.text).toContain('securekey_node_keys_in_memory{source="fake (tests only)"} 2');
  });

  it('releases a rotated key version once, when the SecureKey’s status names it', async () => {
    const token = await addPod('web-rot');
    await fetchFromNodeAgent(clientConfig(token));
    await fetchFromNodeAgent(clientConfig(token));
    expect(source.calls.map((c) => c.version)).toEqual(['v1']);
    secureKeys.set('shop/db-key', secureKey('shop', 'db-key', 'v2'));
    try {
      await new Promise((r) => setTimeout(r, SECURE_KEY_TTL_MS + 50)); // the SecureKey read's TTL
      const config = clientConfig(token);
      const [written] = await fetchFromNodeAgent(config);
      expect(written!.kid).toMatch(/\/v2$/);
      await fetchFromNodeAgent(clientConfig(token));
      expect(source.calls.map((c) => c.version)).toEqual(['v1', 'v2']);
      expect(keys.size).toBe(1);
    } finally {
      secureKeys.set('shop/db-key', secureKey('shop', 'db-key'));
    }
  });

  it('passes a throttled vault on as 429 with Retry-After, which the client waits out', async () => {
    const token = await addPod('web-429');
    const retryAt = () => new Date(Date.now() + 60_000);
    source.script.push(
      new KeySourceError('throttled', 'the vault answered 429', { retryAt: retryAt() }),
      new KeySourceError('throttled', 'the vault answered 429', { retryAt: retryAt() }),
    );
    const res = await post('/v1/keys', token, { keys: [{ alias: 'db', secureKey: 'db-key' }] });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(50);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'Throttled' } });
    // Asked again before then: no vault call.
    const calls = source.calls.length;
    expect((await post('/v1/keys', token, { keys: [{ alias: 'db', secureKey: 'db-key' }] })).status).toBe(
      429,
    );
    expect(source.calls.length).toBe(calls);
  });

  it('bounds what it takes: body size, requests in flight, time', async () => {
    await startServer({ maxInFlight: 1, requestTimeoutMs: 300 });
    const token = await addPod('web-bounds');
    const big = await post('/v1/keys', token, { keys: [{ alias: 'db', secureKey: 'x'.repeat(17_000) }] });
    expect([big.status, JSON.parse(big.text).error.code]).toEqual([400, 'BadRequest']);
    const bad = await post('/v1/keys', token, { keys: [] });
    expect(JSON.parse(bad.text).error.message).toMatch(/1 to 32 keys/);
    source.hold();
    const slow = post('/v1/keys', token, { keys: [{ alias: 'db', secureKey: 'db-key' }] });
    await new Promise((r) => setTimeout(r, 50));
    const busy = await post('/v1/keys', token, { keys: [{ alias: 'db', secureKey: 'db-key' }] });
    expect([busy.status, busy.headers['retry-after']]).toEqual([429, '1']);
    const late = await slow;
    expect([late.status, JSON.parse(late.text).error.code]).toEqual([503, 'Timeout']);
    source.releaseHeld();
    const none = await post('/v1/keys', undefined, { keys: [{ alias: 'db', secureKey: 'db-key' }] });
    expect([none.status, JSON.parse(none.text).error.code]).toEqual([401, 'Unauthenticated']);
  });

  it('answers probes, and picks up a renewed certificate without a restart', async () => {
    await startServer({ tlsReloadMs: 50 });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
    const next = createSimulatorCa('renewed node agent CA');
    const renewed = next.issue({ commonName: 'localhost', ip: ['127.0.0.1'] });
    const nextCa = write('next-ca.pem', next.certPem);
    writeFileSync(keyFile, renewed.keyPem);
    writeFileSync(certFile, renewed.chainPem);
    try {
      await new Promise((r) => setTimeout(r, 200));
      const token = await addPod('web-tls');
      await fetchFromNodeAgent(clientConfig(token, ['db-key'], nextCa));
    } finally {
      writeFileSync(keyFile, leaf.keyPem);
      writeFileSync(certFile, leaf.chainPem);
    }
  });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function request(method: string, p: string, token?: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${server.url}${p}`,
      {
        method,
        ca: ca.certPem,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${readFileSync(token, 'utf8')}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
const get = (p: string) => request('GET', p);
const post = (p: string, token: string | undefined, body: unknown) => request('POST', p, token, body);
