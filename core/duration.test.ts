import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../scripts/cluster/paths.ts';
import { DURATION_PATTERN, durationMs } from './duration.ts';

describe('durationMs (the one duration grammar)', () => {
  it.each([
    ['24h', 24 * 3_600_000],
    ['1h30m', 90 * 60_000],
    ['90m', 90 * 60_000],
    ['1.5h', 90 * 60_000],
    ['45s', 45_000],
    ['250ms', 250],
    ['1m1ms', 60_001],
    ['2h0.5m10s', 2 * 3_600_000 + 30_000 + 10_000],
    ['720h', 720 * 3_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(durationMs(text)).toEqual({ ms });
  });

  it.each(['', '24', 'h', '1d', '-1h', '+1h', '1.h', '.5h', '1h ', ' 1h', '1H', '0', '1us', '1ns', '1h-30m'])(
    'refuses %j',
    (text) => {
      expect(durationMs(text)).toEqual({ problem: 'not-a-duration' });
    },
  );

  it('refuses durations beyond safe integers', () => {
    expect(durationMs('99999999999999999999h')).toEqual({ problem: 'too-long' });
  });

  it('is the grammar the CRD and the chart schema admit', () => {
    const source = DURATION_PATTERN.source;
    for (const file of ['crds/securekey.yaml', 'charts/securekey/crds/securekey.yaml']) {
      const crd = readFileSync(`${repoRoot}/${file}`, 'utf8');
      const patterns = [...crd.matchAll(/self\.matches\('([^']+)'\)/g)].map((m) =>
        m[1]!.replace(/\\\\/g, '\\'),
      );
      const durations = patterns.filter((p) => p.includes('ms|s|m|h'));
      expect(durations).toEqual([source, source]); // rotation.interval, digestRetention
    }
    const schema = readFileSync(`${repoRoot}/charts/securekey/values.schema.json`, 'utf8');
    const inSchema = [...schema.matchAll(/"pattern": "([^"]*ms\|s\|m\|h[^"]*)"/g)].map((m) =>
      m[1]!.replace(/\\\\/g, '\\'),
    );
    expect(inSchema).toEqual([source, source]);
  });
});
