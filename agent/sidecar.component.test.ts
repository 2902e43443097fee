/**
 * Sidecar mode against the sandbox: ready once the keys are written, then a rotated key (a new version
 * in the vault) replaces the file in place — renamed over, never torn — while the probe stays ready.
 */
import crypto from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../edge/log/log.ts';
import { eventually } from '../scripts/cluster/eventually.ts';
import { parseAgentConfig } from './config.ts';
import { startSidecar } from './sidecar.ts';
import { startAgentWorld, type AgentWorld } from '../test/support/agent/world.ts';

let world: AgentWorld;
beforeAll(async () => {
  world = await startAgentWorld();
}, 60_000);
afterAll(async () => {
  await world?.close();
});

async function probe(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/ready`)).status;
}

describe('sidecar mode', () => {
  it('answers ready after the first fetch and swaps in a rotated key without a restart', async () => {
    const out = world.outputDir('sidecar');
    const config = parseAgentConfig(
      ['sidecar', '--refresh', '1s', '--probe-port', '0'],
      world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=oct-key' }),
    );
    const events: Record<string, unknown>[] = [];
    const sidecar = await startSidecar(config, {
      host: '127.0.0.1',
      log: createLogger({ write: (line) => events.push(JSON.parse(line) as Record<string, unknown>) }),
    });
    try {
      const file = path.join(out, 'db');
      const deadline = Date.now() + 30_000;
      while ((await probe(sidecar.port)) !== 200) {
        if (Date.now() > deadline) throw new Error('never ready');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(readFileSync(file).equals(world.material.oct.export())).toBe(true);
      const inode = statSync(file).ino;

      // Rotate: a new version of the key, same release policy.
      const next = crypto.randomBytes(32);
      const policy = world.releasePolicy;
      await world.officer.importKey('oct-key', { kty: 'oct-HSM', k: next } as never, {
        hardwareProtected: true,
        exportable: true,
        releasePolicy: { encodedPolicy: Buffer.from(policy) },
      });
      while (!readFileSync(file).equals(next)) {
        expect(await probe(sidecar.port)).toBe(200); // the old key stays served and ready until the swap
        if (Date.now() > deadline) throw new Error('rotated key never written');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(statSync(file).ino).not.toBe(inode); // a new file renamed over the old one
      expect(statSync(file).mode & 0o777).toBe(0o400);
      // The round logs the rotation once runAgent returns, just after the file is renamed into place.
      await eventually(
        () => events.some((e) => e['msg'] === 'key rotated' && e['alias'] === 'db'),
        5_000,
        'the key rotated event',
      );
      expect(sidecar.rounds()).toBeGreaterThanOrEqual(2);
    } finally {
      await sidecar.stop();
    }
  }, 60_000);

  it('refuses an unknown mode and a bad probe port, naming them', () => {
    expect(() => parseAgentConfig(['daemon'], world.env({ SECUREKEY_KEYS: 'db=oct-key' }))).toThrow(
      /mode "daemon"/,
    );
    expect(() =>
      parseAgentConfig(['sidecar', '--probe-port', '70000'], world.env({ SECUREKEY_KEYS: 'db=oct-key' })),
    ).toThrow(/--probe-port="70000": expected a port number/);
  });
});
