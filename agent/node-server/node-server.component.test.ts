/**
 * The node agent over real TLS, against a stand-in Kubernetes API (TokenReview, pods, SecureKeys, as
 * the API server answers them) and a fake key source (no TPM, attestation or vault: what is tested is
 * who gets which key, and how often the vault would be asked). Pods ask with the real node-mode client
 * (agent/node/node-client.ts), in process and as `securekey-agent node`.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isErrorOf } from '../../core/errors.ts';
import { FakeKeySource } from '../../test/support/agent/fake-key-source.ts';
import { NODE, nodePodSpec, startNodeWorld, type NodeWorld } from '../../test/support/agent/node-world.ts';
import { runAgentProcess } from '../../test/support/agent/world.ts';
import { AgentError } from '../errors.ts';
import { fetchFromNodeAgent } from '../node/node-client.ts';
import { parseNodeConfig } from '../node/node-config.ts';
import { KeySourceError } from './key-source.ts';
import { NodeServerMetrics } from './metrics.ts';
import { nodeKube } from './node-kube.ts';
import { ReleasedKeys } from './released-keys.ts';
import { startNodeServer, type NodeServer } from './server.ts';

const SECURE_KEY_TTL_MS = 1_000;
let world: NodeWorld;

// --- the node agent ----------------------------------------------------------------------------------

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
    certFile: world.certFile,
    keyFile: world.keyFile,
    serve: {
      kube: nodeKube(world.kube, { secureKeyTtlMs: SECURE_KEY_TTL_MS }),
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
  world = await startNodeWorld();
  for (const name of ['db-key', 'tls-key'])
    world.secureKeys.set(`shop/${name}`, world.secureKey('shop', name));
  world.secureKeys.set('bank/vault-key', world.secureKey('bank', 'vault-key'));
  const podMode = world.secureKey('shop', 'pod-key');
  world.secureKeys.set('shop/pod-key', { ...podMode, spec: { ...podMode.spec, mode: 'Pod' } });
});
beforeEach(() => startServer());
afterAll(async () => {
  await server.close();
  keys.clear();
  await world.close();
});

let outs = 0;
function clientConfig(tokenFile: string, keyNames: string[] = ['db-key'], ca = world.caFile) {
  return parseNodeConfig(
    [
      'node',
      `--node-agent-url=${server.url}`,
      `--node-agent-ca=${ca}`,
      `--token-file=${tokenFile}`,
      ...keyNames.map((k) => `--key=${k}=${k}`),
      `--output-dir=${path.join(world.dir, `out-${++outs}`)}`,
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
    const token = await world.addPod('web-0', { keys: ['db-key', 'tls-key'] });
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
    const token = await world.addPod('web-proc');
    const out = path.join(world.dir, 'proc');
    const run = await runAgentProcess(
      {
        PATH: process.env['PATH'] ?? '',
        SECUREKEY_NODE_AGENT_URL: server.url,
        SECUREKEY_NODE_AGENT_CA: world.caFile,
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
    const token = await world.addPod('web-elsewhere', { node: 'cvm-2' });
    expect(await refusedWith(token)).toBe(
      'the node agent refused (HTTP 403): pod shop/web-elsewhere runs on node cvm-2, not on cvm-1',
    );
    expect(source.calls).toHaveLength(0);
  });

  it('refuses a token with another audience (401)', async () => {
    const token = await world.addPod('web-aud', { audiences: ['api://AzureADTokenExchange'] });
    expect(await refusedWith(token)).toBe(
      'the node agent refused (HTTP 401): the token is not accepted: the API server does not authenticate it',
    );
  });

  it('refuses a token bound to another pod of the same name (403)', async () => {
    const token = await world.addPod('web-uid', { tokenUid: 'uid-of-a-deleted-pod' });
    expect(await refusedWith(token)).toMatch(
      /^the node agent refused \(HTTP 403\): pod shop\/web-uid is not the token's pod/,
    );
  });

  it('refuses a SecureKey of another namespace (404), without reading that namespace', async () => {
    const token = await world.addPod('web-ns', { keys: ['vault-key'] });
    world.apiCalls.length = 0;
    expect(await refusedWith(token, ['vault-key'])).toBe(
      'the node agent refused (HTTP 404): SecureKey shop/vault-key does not exist',
    );
    expect(world.apiCalls.filter((c) => c.includes('/bank/'))).toEqual([]);
  });

  it('serves a SecureKey created a moment after a pod found none', async () => {
    const token = await world.addPod('web-late', { keys: ['late-key'] });
    expect(await refusedWith(token, ['late-key'])).toMatch(/\(HTTP 404\)/);
    world.secureKeys.set('shop/late-key', world.secureKey('shop', 'late-key'));
    try {
      await fetchFromNodeAgent(clientConfig(token, ['late-key']));
    } finally {
      world.secureKeys.delete('shop/late-key');
    }
  });

  it('refuses a key of a pod-mode SecureKey (403): its release policy names pod digests', async () => {
    const token = await world.addPod('web-podmode', { keys: ['pod-key'] });
    expect(await refusedWith(token, ['pod-key'])).toBe(
      'the node agent refused (HTTP 403): SecureKey shop/pod-key serves pod mode, not node mode (spec.mode: Node)',
    );
  });

  it('refuses a pod whose containers were not approved (403), or were changed after approval', async () => {
    const unapproved = await world.addPod('web-unapproved', { approved: false });
    expect(await refusedWith(unapproved)).toMatch(
      /^the node agent refused \(HTTP 403\): SecureKey shop\/db-key: pod shop\/web-unapproved is not approved \(no-approval/,
    );
    const changed = await world.addPod('web-changed', {
      spec: nodePodSpec(['/bin/sh', '-c', 'cat /run/securekey/*']),
    });
    expect(await refusedWith(changed)).toMatch(/is not approved \(other-digest/);
    expect(source.calls).toHaveLength(0);
  });

  it('answers a burst of 50 pods with one release per key, and one SecureKey read per key', async () => {
    const tokenFiles = await Promise.all(
      Array.from({ length: 50 }, (_, i) => world.addPod(`burst-${i}`, { keys: ['db-key', 'tls-key'] })),
    );
    source.hold(); // every request arrives while the first releases are in flight
    world.apiCalls.length = 0;
    const fetches = tokenFiles.map((t) => fetchFromNodeAgent(clientConfig(t, ['db-key', 'tls-key'])));
    await new Promise((r) => setTimeout(r, 200));
    source.releaseHeld();
    const written = await Promise.all(fetches);
    expect(written).toHaveLength(50);
    expect(source.calls.map((c) => c.keyName).sort()).toEqual(['shop-db-key', 'shop-tls-key']);
    expect(world.apiCalls.filter((c) => c.includes('/securekeys/'))).toHaveLength(2);
    const scrape = await get('/metrics');
    expect(scrape.text).toContain('securekey_node_requests_total{code="OK"} 50');
    expect(scrape.text).toContain('securekey_node_releases_total{outcome="ok"} 2');
    expect(scrape.text).toContain('securekey_node_keys_in_memory{source="fake (tests only)"} 2');
  });

  it('releases a rotated key version once, when the SecureKey’s status names it', async () => {
    const token = await world.addPod('web-rot');
    await fetchFromNodeAgent(clientConfig(token));
    await fetchFromNodeAgent(clientConfig(token));
    expect(source.calls.map((c) => c.version)).toEqual(['v1']);
    world.secureKeys.set('shop/db-key', world.secureKey('shop', 'db-key', { version: 'v2' }));
    try {
      await new Promise((r) => setTimeout(r, SECURE_KEY_TTL_MS + 50)); // the SecureKey read's TTL
      const config = clientConfig(token);
      const [written] = await fetchFromNodeAgent(config);
      expect(written!.kid).toMatch(/\/v2$/);
      await fetchFromNodeAgent(clientConfig(token));
      expect(source.calls.map((c) => c.version)).toEqual(['v1', 'v2']);
      expect(keys.size).toBe(1);
    } finally {
      world.secureKeys.set('shop/db-key', world.secureKey('shop', 'db-key'));
    }
  });

  it('passes a throttled vault on as 429 with Retry-After, which the client waits out', async () => {
    const token = await world.addPod('web-429');
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
    const token = await world.addPod('web-bounds');
    const big = await post('/v1/keys', token, {
      keys: [{ alias: 'db', secureKey: 'db-key' }],
      padding: 'x'.repeat(16 * 1024),
    });
    expect([big.status, JSON.parse(big.text).error]).toEqual([
      400,
      { code: 'BadRequest', message: 'the body is larger than 16384 bytes' },
    ]);
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
    // The scheme is case-insensitive (RFC 9110).
    const lower = await request(
      'POST',
      '/v1/keys',
      token,
      { keys: [{ alias: 'db', secureKey: 'db-key' }] },
      'bearer',
    );
    expect(lower.status).toBe(200);
    expect((await get('/metrics')).text).toContain('securekey_node_requests_total{code="Timeout"} 1\n');
  });

  it('answers probes, and picks up a renewed certificate without a restart', async () => {
    await startServer({ tlsReloadMs: 50 });
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/nope')).status).toBe(404);
    const nextCa = world.renewCertificate();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const token = await world.addPod('web-tls');
      await fetchFromNodeAgent(clientConfig(token, ['db-key'], nextCa));
    } finally {
      world.restoreCertificate();
    }
  });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function request(
  method: string,
  p: string,
  token?: string,
  body?: unknown,
  scheme = 'Bearer',
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${server.url}${p}`,
      {
        method,
        ca: world.caPem,
        headers: {
          ...(token === undefined ? {} : { authorization: `${scheme} ${readFileSync(token, 'utf8')}` }),
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
