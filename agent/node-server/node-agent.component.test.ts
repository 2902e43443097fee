/**
 * `securekey-agent node-server` as a process against the sandbox (SIMULATORS ONLY): the pod-attestation
 * key source releases through pod mode's path (PSP report → simulated Azure Attestation → simulated
 * vault), the stand-in API server answers for the pods, and pods fetch with `securekey-agent node`
 * logic. Shows the keys reaching a pod equal to the vault's, and the economy: one attestation and one
 * release per key for a burst of pods.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/paths.ts';
import { startNodeWorld, NODE, type NodeWorld } from '../../test/support/agent/node-world.ts';
import { KEY_NAMES, startAgentWorld, type AgentWorld } from '../../test/support/agent/world.ts';
import { fetchFromNodeAgent } from '../node/node-client.ts';
import { parseNodeConfig } from '../node/node-config.ts';

let world: AgentWorld;
let node: NodeWorld;
let child: ChildProcess;
let url = '';
let stderr = '';

beforeAll(async () => {
  world = await startAgentWorld();
  node = await startNodeWorld();
  for (const [name, kind] of [
    ['db-key', 'oct'],
    ['tls-key', 'rsa'],
  ] as const) {
    node.secureKeys.set(
      `shop/${name}`,
      node.secureKey('shop', name, {
        vaultUrl: world.sb.vault.url,
        keyName: KEY_NAMES[kind],
        version: (await world.officer.getKey(KEY_NAMES[kind])).properties.version!,
        authority: world.sb.maa.url,
      }),
    );
  }
  child = spawn(process.execPath, [path.join(repoRoot, 'agent/main.ts'), 'node-server', '--port=0'], {
    env: {
      ...world.env(), // pod mode's settings: the PSP evidence of an admitted pod, the sandbox's identity
      KUBECONFIG: node.kubeconfig,
      NODE_NAME: NODE,
      SECUREKEY_NODE_SERVER_TLS_CERT: node.certFile,
      SECUREKEY_NODE_SERVER_TLS_KEY: node.keyFile,
      SECUREKEY_NODE_KEY_SOURCE: 'pod-attestation',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no serving line:\n${stderr}`)), 20_000);
    child.stderr!.on('data', () => {
      const m = /"msg":"serving","url":"([^"]+)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`node-server exited ${code}:\n${stderr}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await node?.close();
  await world?.close();
});

describe('securekey-agent node-server', () => {
  it('serves a burst of pods the vault’s keys with one attestation and one release per key', async () => {
    const maaBefore = world.sb.maa.stats.attests();
    const releasesBefore = world.sb.vault.stats.count('releaseKey', 200);
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => node.addPod(`web-${i}`, { keys: ['db-key', 'tls-key'] })),
    );
    const configs = tokens.map((token, i) =>
      parseNodeConfig(
        [
          'node',
          `--node-agent-url=${url}`,
          `--node-agent-ca=${node.caFile}`,
          `--token-file=${token}`,
          '--key=db=db-key',
          '--key=tls=tls-key',
          '--format=tls=pem',
          `--output-dir=${path.join(node.dir, `sandbox-out-${i}`)}`,
          '--timeout=30s',
        ],
        {},
      ),
    );
    await Promise.all(configs.map((c) => fetchFromNodeAgent(c)));
    const vaultKey = world.material.oct.export();
    const tlsKey = world.material.rsa.export({ type: 'pkcs8', format: 'pem' }).toString();
    for (const c of configs) {
      expect(readFileSync(path.join(c.outputDir, 'db')).equals(vaultKey)).toBe(true);
      expect(readFileSync(path.join(c.outputDir, 'tls'), 'utf8')).toBe(tlsKey);
    }
    // One attestation token serves both releases; each key is released once for all 20 pods.
    expect(world.sb.maa.stats.attests() - maaBefore).toBe(1);
    expect(world.sb.vault.stats.count('releaseKey', 200) - releasesBefore).toBe(2);
    // Key material never reaches the node agent's log.
    expect(stderr).not.toContain(vaultKey.toString('base64'));
    expect(stderr).toContain('"msg":"keys served"');
  }, 60_000);

  it('stops on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
