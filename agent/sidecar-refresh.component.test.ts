/**
 * The native sidecar's cost to the vault and to Azure Attestation over time (ADR 51), against the
 * sandbox on a simulated clock: over an hour with one rotation, each pod attests once and releases each
 * key version once, and still ends with the rotated key; a throttled vault is asked again only when its
 * Retry-After says.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config.ts';
import { startSidecar } from './sidecar.ts';
import { runSidecarHour } from '../test/support/agent/sidecar-hour.ts';
import { SimulatedClock } from '../test/support/agent/simulated-clock.ts';
import { startAgentWorld } from '../test/support/agent/world.ts';

describe('sidecar refresh over a simulated hour', () => {
  it('attests once per pod and releases once per key version, and follows the rotation', async () => {
    const hour = await runSidecarHour({ pods: 3, behaviour: 'after' });
    for (const pod of hour.perPod) {
      expect(pod).toEqual({ attestations: 1, releases: hour.keyVersions, failures: 0 });
    }
    expect(hour.podsWithRotatedKey).toBe(3);
    // The simulators agree: 3 pods × 3 key versions, 3 attestations.
    expect(hour.vault.releases200).toBe(9);
    expect(hour.maa.attestTokens).toBe(3);
  }, 120_000);

  it('asks a throttled vault again only after its Retry-After, keeping the attestation', async () => {
    const clock = new SimulatedClock(Date.now());
    const world = await startAgentWorld({ sandbox: { vaultNow: clock.now } });
    try {
      const out = world.outputDir('throttled');
      const config = parseAgentConfig(
        ['sidecar', '--probe-port', '0'],
        world.env({ SECUREKEY_OUTPUT_DIR: out, SECUREKEY_KEYS: 'db=oct-key', SECUREKEY_TIMEOUT: '20s' }),
      );
      // Every release is throttled, and the vault asks for two minutes: past the round's deadline.
      world.sb.vault.faults.plan = {
        match: /\/release$/,
        throttle: { count: 1_000, retryAfterSeconds: 120 },
      };
      clock.enter();
      const sidecar = await startSidecar(config, { host: '127.0.0.1', clock, random: () => 0 });
      try {
        await clock.idle();
        const first = clock.now();
        expect(world.sb.vault.faults.injected.throttled).toBe(1);
        expect(sidecar.ready()).toBe(false);
        // Nothing more until the two minutes are over (the backoff alone would have asked after 1 s).
        await clock.runUntil(first + 115_000);
        expect(world.sb.vault.faults.injected.throttled).toBe(1);
        world.sb.vault.faults.plan = {};
        await clock.runUntil(first + 125_000);
        expect(sidecar.ready()).toBe(true);
        expect(readFileSync(path.join(out, 'db')).equals(world.material.oct.export())).toBe(true);
        // Throttling says nothing about the token: the first round's attestation served the second.
        expect(sidecar.counts()).toEqual({ attestations: 1, releases: 1, failures: 1 });
        expect(world.sb.maa.stats.attests('token')).toBe(1);
      } finally {
        await sidecar.stop();
      }
    } finally {
      await world.close();
    }
  }, 60_000);
});
