/**
 * Native sidecars over a simulated hour against the sandbox (the real simulators, in this process):
 * the spec and `npm run bench:sidecar` both run it. Two keys per pod: `oct` (oct-key, rotated by its
 * SecureKey every hour) and `rsa` (rsa-key, no rotation). The keys are imported at the world's start;
 * the hour begins 30 minutes later, so oct-key's rotation falls due mid-hour, when this scenario plays
 * the operator and imports its next version (a few seconds after the due time, as the operator's
 * requeue would).
 *
 * `after`: the sidecar as it ships (kept attestation, releases on the rotation schedule with jitter).
 * `before`: the old behaviour, as its configuration: a full attested release of every key every 5 min
 * (`--refresh 5m`, no rotation window, the attestation never kept, no jitter).
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAgentConfig } from '../../../agent/config.ts';
import type { PodAttestation } from '../../../agent/flow.ts';
import { Reused } from '../../../agent/reused-token.ts';
import { startSidecar, type Sidecar, type SidecarCounts } from '../../../agent/sidecar.ts';
import { SimulatedClock } from './simulated-clock.ts';
import { startAgentWorld } from './world.ts';

export type SidecarBehaviour = 'before' | 'after';

export interface SidecarHourOptions {
  pods: number;
  behaviour: SidecarBehaviour;
  /** Pods started at once before waiting for their first rounds (default 25). */
  startBatch?: number;
  seed?: number;
  /** Progress, for the benchmark. */
  onProgress?: (line: string) => void;
}

export interface SidecarHourResult {
  behaviour: SidecarBehaviour;
  pods: number;
  /** Key versions the hour saw: oct-key 2 (one rotation), rsa-key 1. */
  keyVersions: number;
  perPod: SidecarCounts[];
  /** The simulators' own counters over the hour (start-up included). */
  vault: { releases200: number; releasesOther: number; throttled: number };
  maa: { attestTokens: number; attestOther: number };
  /** Pods whose oct file holds the rotated key at the end of the hour. */
  podsWithRotatedKey: number;
  realSeconds: number;
}

const HOUR = 3_600_000;
const ROTATION = '1h';
const OPERATOR_DELAY_MS = 5_000;

export async function runSidecarHour(o: SidecarHourOptions): Promise<SidecarHourResult> {
  const started = performance.now();
  const clock = new SimulatedClock(Date.now());
  const world = await startAgentWorld({
    // Entra runs on real time, the vault on the simulated clock: Entra's tokens must outlive the gap.
    sandbox: { vaultNow: clock.now, entraTokenLifetimeSeconds: 24 * 3600 },
  });
  const sidecars: Sidecar[] = [];
  try {
    const keysCreated = clock.now();
    const hourStart = keysCreated + 30 * 60_000;
    clock.set(hourStart);
    const random = mulberry32(o.seed ?? 1);
    const batch = o.startBatch ?? 25;
    for (let i = 0; i < o.pods; i++) {
      const tokenFile = world.addPod(`pod-${i}`, world.admittedPolicy);
      const args =
        o.behaviour === 'after'
          ? ['sidecar', '--probe-port', '0', `--rotation=oct=${ROTATION}`]
          : ['sidecar', '--probe-port', '0', '--refresh', '5m'];
      const config = parseAgentConfig(
        args,
        world.env({
          SECUREKEY_OUTPUT_DIR: world.outputDir(`pod-${i}`),
          SECUREKEY_KEYS: 'oct=oct-key,rsa=rsa-key',
          SECUREKEY_PSP_TOKEN_FILE: tokenFile,
        }),
      );
      clock.enter();
      sidecars.push(
        await startSidecar(config, {
          host: '127.0.0.1',
          clock,
          ...(o.behaviour === 'after'
            ? { random }
            : {
                random: () => 0,
                // Never valid, so every round attests again, as the old sidecar did.
                attestation: new Reused<PodAttestation>(undefined, { marginMs: Infinity, now: clock.now }),
              }),
        }),
      );
      if ((i + 1) % batch === 0 || i === o.pods - 1) {
        await clock.idle();
        o.onProgress?.(`${o.behaviour}: ${i + 1}/${o.pods} pods started`);
      }
    }

    // The operator rotates oct-key when its version is an hour old.
    await clock.runUntil(keysCreated + HOUR + OPERATOR_DELAY_MS);
    const next = crypto.randomBytes(32);
    await world.officer.importKey('oct-key', { kty: 'oct-HSM', k: next } as never, {
      hardwareProtected: true,
      exportable: true,
      releasePolicy: { encodedPolicy: Buffer.from(world.releasePolicy) },
    });
    o.onProgress?.(
      `${o.behaviour}: oct-key rotated at minute ${((clock.now() - hourStart) / 60_000).toFixed(1)}`,
    );
    await clock.runUntil(hourStart + HOUR);
    await Promise.all(sidecars.map((s) => s.stop()));

    const perPod = sidecars.map((s) => s.counts());
    const dirs = world.dir;
    let podsWithRotatedKey = 0;
    for (let i = 0; i < o.pods; i++) {
      const file = path.join(dirs, 'out', `pod-${i}-${i + 1}`, 'oct');
      if (readFileSync(file).equals(next)) podsWithRotatedKey += 1;
    }
    const vaultStats = world.sb.vault.stats;
    const releases200 = vaultStats.count('releaseKey', 200);
    const maaStats = world.sb.maa.stats;
    return {
      behaviour: o.behaviour,
      pods: o.pods,
      keyVersions: 3,
      perPod,
      vault: {
        releases200,
        releasesOther: vaultStats.count('releaseKey') - releases200,
        throttled: vaultStats.count('releaseKey', 429),
      },
      maa: {
        attestTokens: maaStats.attests('token'),
        attestOther: maaStats.attests() - maaStats.attests('token'),
      },
      podsWithRotatedKey,
      realSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    await Promise.all(sidecars.map((s) => s.stop()));
    await world.close();
  }
}

/** A small seeded generator, so a run's jitter is repeatable. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
