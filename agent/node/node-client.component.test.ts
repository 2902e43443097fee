/**
 * The node-mode client against a stand-in node agent (the real one is a later issue; ADR 14 is the
 * contract): keys written byte for byte, the pod token presented, refusals and outages named.
 */
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EAGER_WINDOW, eagerWindows } from '../../test/support/agent/eager-windows.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyMaterialFromKey, vaultPlaintext } from '../../core/keys/key-material.ts';
import { isErrorOf } from '../../core/errors.ts';
import { nodeArgs } from '../../core/inject/index.ts';
import { createSimulatorCa } from '../../sim/common/tls.ts';
import { bundleAgent } from '../../scripts/bundle-agent.ts';
import { AgentError } from '../errors.ts';
import { runAgentProcess } from '../../test/support/agent/world.ts';
import { fetchFromNodeAgent } from './node-client.ts';
import { parseNodeConfig } from './node-config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'securekey-node-'));
const ca = createSimulatorCa('node agent test CA');
const tls = ca.issue({ commonName: 'localhost', dns: ['localhost'], ip: ['127.0.0.1'] });
const caFile = path.join(dir, 'ca.pem');
writeFileSync(caFile, ca.certPem);
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, 'pod-token-1\n');
const oct = crypto.randomBytes(32);
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** How the stand-in answers the next requests (consumed in order), then with the keys. */
let script: Array<{ status: number; body: unknown }> = [];
const seen: Array<{ auth: string | undefined; body: unknown }> = [];
let server: https.Server;
let url = '';

beforeAll(async () => {
  server = https.createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, body: JSON.parse(text || '{}') });
      const next = script.shift() ?? {
        status: 200,
        body: {
          keys: [
            {
              alias: 'db',
              kid: 'https://h.managedhsm.azure.net/keys/db/v1',
              kty: 'oct-HSM',
              plaintext: oct.toString('base64'),
            },
            {
              alias: 'tls',
              kid: 'https://h.managedhsm.azure.net/keys/tls/v2',
              kty: 'RSA-HSM',
              plaintext: vaultPlaintext(keyMaterialFromKey(rsa)).toString('base64'),
            },
          ],
        },
      };
      res.writeHead(next.status, { 'content-type': 'application/json' }).end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

let outs = 0;
function config(extra: string[] = [], env: Record<string, string> = {}) {
  const out = path.join(dir, `out-${++outs}`);
  return parseNodeConfig(
    [
      'node',
      `--node-agent-url=${url}`,
      `--node-agent-ca=${caFile}`,
      `--token-file=${tokenFile}`,
      '--key=db=db-key',
      '--key=tls=web-tls',
      '--format=tls=pem',
      `--output-dir=${out}`,
      ...extra,
    ],
    env,
  );
}

describe('node mode client', () => {
  it('accepts exactly the command line the injector writes for node mode', () => {
    const args = nodeArgs([
      {
        alias: 'db',
        secureKey: 'db-key',
        format: 'raw',
        file: 'db',
        vaultUrl: '',
        keyName: '',
        authority: '',
      },
      {
        alias: 'tls',
        secureKey: 'web-tls',
        format: 'pem',
        file: 'tls.key',
        vaultUrl: '',
        keyName: '',
        authority: '',
      },
    ]);
    const c = parseNodeConfig(args, { SECUREKEY_NODE_AGENT_URL: url, SECUREKEY_NODE_AGENT_CA: caFile });
    expect(c.keys).toEqual([
      { alias: 'db', secureKey: 'db-key', format: 'raw', path: '/run/securekey/db' },
      { alias: 'tls', secureKey: 'web-tls', format: 'pem', path: '/run/securekey/tls.key' },
    ]);
  });

  it('presents the pod token, asks by SecureKey name, and writes the keys as pod mode does', async () => {
    seen.length = 0;
    const c = config();
    const written = await fetchFromNodeAgent(c);
    expect(seen[0]).toEqual({
      auth: 'Bearer pod-token-1',
      body: {
        keys: [
          { alias: 'db', secureKey: 'db-key' },
          { alias: 'tls', secureKey: 'web-tls' },
        ],
      },
    });
    expect(readFileSync(path.join(c.outputDir, 'db')).equals(oct)).toBe(true);
    expect(readFileSync(path.join(c.outputDir, 'tls'), 'utf8')).toBe(
      rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
    );
    expect(statSync(path.join(c.outputDir, 'db')).mode & 0o777).toBe(0o400);
    expect(written.map((w) => w.kid)).toEqual([
      'https://h.managedhsm.azure.net/keys/db/v1',
      'https://h.managedhsm.azure.net/keys/tls/v2',
    ]);
    expect(statSync(c.readyFile).isFile()).toBe(true);
  });

  it('rides out a node agent that is not ready yet (503), re-reading the token', async () => {
    script = [
      { status: 503, body: { error: { code: 'NotReady', message: 'attesting' } } },
      { status: 429, body: {} },
    ];
    seen.length = 0;
    const c = config();
    writeFileSync(tokenFile, 'pod-token-2');
    await fetchFromNodeAgent(c);
    expect(seen.map((s) => s.auth)).toEqual([
      'Bearer pod-token-2',
      'Bearer pod-token-2',
      'Bearer pod-token-2',
    ]);
    writeFileSync(tokenFile, 'pod-token-1');
  });

  it('a refusal is final and named, with the node agent’s reason', async () => {
    script = [
      {
        status: 403,
        body: { error: { code: 'NotAdmitted', message: 'SecureKey db-key does not select pod shop/web-1' } },
      },
    ];
    const err = await fetchFromNodeAgent(config()).catch((e: unknown) => e);
    expect(isErrorOf(err, AgentError, 'node-refused')).toBe(true);
    expect((err as AgentError).step).toBe('node-fetch');
    expect((err as Error).message).toBe(
      'the node agent refused (HTTP 403): SecureKey db-key does not select pod shop/web-1',
    );
  });

  it('refuses answers with missing or extra keys, and a node agent whose certificate the CA does not vouch for', async () => {
    script = [
      {
        status: 200,
        body: { keys: [{ alias: 'db', kid: 'k', kty: 'oct-HSM', plaintext: oct.toString('base64') }] },
      },
    ];
    const missing = await fetchFromNodeAgent(config()).catch((e: unknown) => e);
    expect((missing as Error).message).toBe('the node agent did not send key tls');
    script = [{ status: 200, body: { keys: [{ alias: 'evil', kid: 'k', kty: 'oct-HSM', plaintext: '' }] } }];
    const extra = await fetchFromNodeAgent(config()).catch((e: unknown) => e);
    expect((extra as Error).message).toContain('"evil", which was not asked for');
    const otherCa = path.join(dir, 'other-ca.pem');
    writeFileSync(otherCa, createSimulatorCa('someone else').certPem);
    const c = { ...config(), caFile: otherCa, timeoutMs: 1500 };
    const untrusted = await fetchFromNodeAgent(c).catch((e: unknown) => e);
    expect(isErrorOf(untrusted, AgentError, 'node-unavailable')).toBe(true);
    expect((untrusted as Error).message).toMatch(/certificate/i);
  });

  it.each(['source', 'bundle'] as const)(
    '%s: runs as `securekey-agent node`, and refuses a configuration that names nothing to fetch',
    async (entry) => {
      // The bundle as the image ships it (scripts/bundle-agent.ts, ADR 19).
      const main = entry === 'bundle' ? (await bundleAgent(path.join(dir, 'bundle'))).main : undefined;
      const out = path.join(dir, `proc-${entry}`);
      const env = {
        PATH: process.env['PATH'] ?? '',
        SECUREKEY_NODE_AGENT_URL: url,
        SECUREKEY_NODE_AGENT_CA: caFile,
        SECUREKEY_NODE_TOKEN_FILE: tokenFile,
        SECUREKEY_OUTPUT_DIR: out,
        SECUREKEY_ALLOW_DISK_OUTPUT: 'true', // `out` is under the OS temp directory
      };
      const run = await runAgentProcess(
        env,
        ['node', '--key=db=db-key', '--key=tls=web-tls', '--format=tls=pem'],
        main,
        EAGER_WINDOW,
      );
      expect(run.code).toBe(0);
      // The bundle first loads no Node module while compiling eagerly (eager-load.ts, NODE_CLIENT_BUILTINS).
      if (entry === 'bundle') expect(eagerWindows(run.stderr)).toEqual([[]]);
      expect(readFileSync(path.join(out, 'db')).equals(oct)).toBe(true);
      expect(run.stdout + run.stderr).not.toContain(oct.toString('base64'));
      const none = await runAgentProcess(env, ['node'], main);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no --key=<alias>=<SecureKey> given');
    },
  );
});
