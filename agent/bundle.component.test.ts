/**
 * The agent as its image ships it (ADR 19): the bundle of scripts/bundle-agent.ts, run from a directory with
 * no node_modules anywhere above it (the world's temporary directory), as the image runs it. The main init
 * specs run from the bundle in agent.component.test.ts; here: what only the bundle has — its chunks, the image-build
 * warm-up, the eager compilation window — and the modes agent.component.test.ts runs from source only.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EAGER_WINDOW, eagerWindows } from '../test/support/agent/eager-windows.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleAgent, type AgentBundle } from '../scripts/bundle-agent.ts';
import { freePort } from '../scripts/cluster/ports.ts';
import { eventually } from '../scripts/cluster/eventually.ts';
import {
  runAgentProcess,
  startAgentWorld,
  type AgentRun,
  type AgentWorld,
} from '../test/support/agent/world.ts';

let world: AgentWorld;
let bundle: AgentBundle;
/** Node's compile cache as the image build leaves it: filled by `main.cjs warm-cache`. */
let cache: string;
let warm: AgentRun;

beforeAll(async () => {
  world = await startAgentWorld();
  bundle = await bundleAgent(path.join(world.dir, 'bundle'));
  cache = path.join(world.dir, 'compile-cache');
  warm = await runAgentProcess({ NODE_COMPILE_CACHE: cache }, ['warm-cache'], bundle.main, EAGER_WINDOW);
}, 60_000);
afterAll(async () => {
  await world?.close();
});

const chunk = (name: string) => readFileSync(path.join(bundle.dir, name), 'utf8');

describe('the shipped bundle', () => {
  it('starts small: the entry chunk holds neither the SDK nor the path, which load after the key pair starts', () => {
    const main = chunk('main.cjs');
    expect(main.length).toBeLessThan(100_000);
    expect(main).not.toContain('KeyClient');
    expect(main).toContain('require("./flow.cjs")');
  });

  it('pod mode’s path releases by its own REST call: the Key Vault SDK is only in the node agent’s chunk (ADR 53)', () => {
    const flow = chunk('flow.cjs');
    expect(flow).toContain('keyReleaseClientFor');
    // The SDK's user-agent prefix, part of its KeyClient.
    expect(flow).not.toContain('azsdk-js-keyvault-keys');
    expect(chunk('node-agent.cjs')).toContain('azsdk-js-keyvault-keys');
    const licences = chunk('THIRD-PARTY-LICENSES');
    expect(licences).toContain('@azure/keyvault-keys@');
    expect(licences).toContain('MIT License');
  });

  it('warm-cache (image build) reads no configuration, prints nothing, and leaves a cache every run accepts', async () => {
    expect(warm.code).toBe(0);
    expect(warm.stdout).toBe('');
    expect(eagerWindows(warm.stderr)).toEqual([[]]);
    const [dir] = readdirSync(cache);
    expect(readdirSync(path.join(cache, dir!)).length).toBeGreaterThanOrEqual(5);

    // An init run with that cache: every chunk's code cache accepted (same V8 flags), none rejected.
    const out = world.outputDir('warm-cache-init');
    const run = await runAgentProcess(
      world.env({
        SECUREKEY_OUTPUT_DIR: out,
        SECUREKEY_KEYS: 'db=oct-key',
        NODE_COMPILE_CACHE: cache,
        NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
      }),
      ['init'],
      bundle.main,
      EAGER_WINDOW,
    );
    expect(run.code).toBe(0);
    expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
    expect(run.stderr).toMatch(/code cache for CommonJS \S*\/flow\.cjs was accepted/);
    expect(run.stderr).not.toContain('was rejected');
    expect(eagerWindows(run.stderr)).toEqual([[]]);
  }, 60_000);

  it('sidecar mode: ready on its probe once the keys are written, chunks from the cache, exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const out = world.outputDir('bundle-sidecar');
    const child = spawn(
      process.execPath,
      [bundle.main, 'sidecar', '--probe-port', String(port), '--refresh', '1h'],
      {
        env: world.env({
          SECUREKEY_OUTPUT_DIR: out,
          SECUREKEY_KEYS: 'db=oct-key',
          NODE_COMPILE_CACHE: cache,
          NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200,
        30_000,
        'the sidecar ready on its probe',
      );
      expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/code cache for CommonJS \S*\/flow\.cjs was accepted/);
    expect(stderr).not.toContain('was rejected');
  }, 60_000);
});
