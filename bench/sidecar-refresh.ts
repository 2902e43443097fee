#!/usr/bin/env node
/**
 * Native sidecar refresh economics (issue 15 §4; method in bench/README.md): sidecars over a simulated
 * hour against the sandbox's simulators in this process (test/support/agent/sidecar-hour.ts), with one
 * rotation of one of their two keys mid-hour. Counted per pod (the sidecar's own counters) and in total
 * (the vault's and MAA's): vault releases and Azure Attestation calls, for the sidecar as it ships
 * (`after`) and with the old behaviour's configuration (`before`: everything again every 5 min).
 *
 *   npm run bench:sidecar [-- --pods 1000 --before-pods 100 --seed 1 --out <file>]
 *
 * Figures are counts and ratios, not timings. `before` costs ~13× the work per pod, so it runs on a
 * sample (`--before-pods`); its per-pod figures do not depend on the number of pods.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../scripts/cluster/paths.ts';
import { runSidecarHour, type SidecarHourResult } from '../test/support/agent/sidecar-hour.ts';

const { values: args } = parseArgs({
  options: {
    pods: { type: 'string', default: '1000' },
    'before-pods': { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});

const progress = (line: string) => process.stderr.write(`${line}\n`);

// A first 1,000-pod run died of one stray socket error (a Key Vault SDK request's ETIMEDOUT) that nothing
// awaited; count such errors and go on, and report them, rather than lose the hour.
const stray: string[] = [];
const onStray = (err: unknown) => {
  stray.push(
    err instanceof Error
      ? `${err.name} ${(err as { code?: string }).code ?? ''} ${err.message}`
      : String(err),
  );
  progress(`stray error: ${stray.at(-1)}`);
};
process.on('unhandledRejection', onStray);
process.on('uncaughtException', onStray);

function summary(r: SidecarHourResult) {
  const per = (f: (p: SidecarHourResult['perPod'][number]) => number) => {
    const xs = r.perPod.map(f).sort((a, b) => a - b);
    return { min: xs[0]!, median: xs[Math.floor(xs.length / 2)]!, max: xs[xs.length - 1]! };
  };
  const releases = per((p) => p.releases);
  const attestations = per((p) => p.attestations);
  return {
    pods: r.pods,
    keyVersionsPerPod: r.keyVersions,
    perPod: { releases, attestations, failedRounds: per((p) => p.failures) },
    totals: {
      vaultReleases200: r.vault.releases200,
      vaultReleaseOtherStatuses: r.vault.releasesOther,
      vaultThrottled: r.vault.throttled,
      maaTokens: r.maa.attestTokens,
      maaOther: r.maa.attestOther,
    },
    ratios: {
      releasesPerPodPerKeyVersion: +(r.vault.releases200 / r.pods / r.keyVersions).toFixed(2),
      maaCallsPerPodPerTokenLifetime: +(r.maa.attestTokens / r.pods).toFixed(2),
    },
    targets: {
      releasesAtMostOnePerPodPerKeyVersion: releases.max <= r.keyVersions,
      maaAtMostOnePerPodPerTokenLifetime: attestations.max <= 1,
    },
    podsWithRotatedKey: r.podsWithRotatedKey,
    realSeconds: +r.realSeconds.toFixed(1),
  };
}

const seed = Number(args.seed);
const after = summary(
  await runSidecarHour({ pods: Number(args.pods), behaviour: 'after', seed, onProgress: progress }),
);
const before = summary(
  await runSidecarHour({
    pods: Number(args['before-pods']),
    behaviour: 'before',
    seed,
    onProgress: progress,
  }),
);
const result = {
  benchmark: 'sidecar-refresh',
  date: new Date().toISOString(),
  node: process.version,
  method:
    'simulated hour, 2 keys per pod (oct-key rotated once mid-hour, rsa-key not), MAA tokens valid 8 h (one lifetime)',
  after,
  before,
  strayErrors: stray,
  loadAverageAtEnd: loadavg().map((l) => +l.toFixed(2)),
};
const human = [
  `after (${after.pods} pods): vault releases ${after.totals.vaultReleases200} = ${after.ratios.releasesPerPodPerKeyVersion} per pod per key version ` +
    `(per pod ${after.perPod.releases.min}/${after.perPod.releases.median}/${after.perPod.releases.max} for ${after.keyVersionsPerPod} versions); ` +
    `MAA ${after.totals.maaTokens} = ${after.ratios.maaCallsPerPodPerTokenLifetime} per pod; rotated key in ${after.podsWithRotatedKey}/${after.pods} pods`,
  `before (${before.pods} pods): vault releases ${before.totals.vaultReleases200} = ${before.ratios.releasesPerPodPerKeyVersion} per pod per key version; ` +
    `MAA ${before.totals.maaTokens} = ${before.ratios.maaCallsPerPodPerTokenLifetime} per pod; rotated key in ${before.podsWithRotatedKey}/${before.pods} pods`,
];
process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${human.join('\n')}\n`);
const outFile = args.out ?? path.join(repoRoot, 'bench/results/sidecar-refresh-latest.json');
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
process.exit(0);
