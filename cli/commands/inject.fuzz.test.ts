/**
 * Fuzz tier for `securekey inject` (see test/support/fuzz.ts for the seed): SecureKey and workload
 * manifests with fields missing or of the wrong type, and YAML with characters changed, either inject
 * or stop with a SecureKeyError naming the file and the problem.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fuzzParams, typedOrOk } from '../../test/support/fuzz.ts';
import { injectCommand } from './inject.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'sk-inject-fuzz-'));
const manifestFile = path.join(dir, 'manifests.yaml');
/** How many runs injected at least one pod template: the inputs must reach the injector. */
let injectedRuns = 0;
const io = {
  out: () => {},
  err: (t: string) => void (/^injected the agent into [1-9]/.test(t) && injectedRuns++),
};
const ARGS = ['-f', manifestFile, '--agent-image', 'agent:1', '--client-id', 'cid', '--tenant-id', 'tid'];

const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(null));
/** Mostly `arb`; sometimes missing (undefined is left out of the YAML) or junk. */
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> =>
  fc.oneof({ arbitrary: arb, weight: 20 }, fc.constant(undefined), junk);
/** A record whose members may each be missing or junk. */
const loose = <T extends Record<string, fc.Arbitrary<unknown>>>(members: T) =>
  maybe(fc.record(Object.fromEntries(Object.entries(members).map(([k, v]) => [k, maybe(v)]))));

const secureKey = fc.record({
  apiVersion: fc.constant('securekey.io/v1alpha1'),
  kind: fc.constant('SecureKey'),
  metadata: loose({ name: fc.constant('db-key'), namespace: fc.constant('shop') }),
  spec: loose({
    vault: loose({ url: fc.constant('https://contoso.managedhsm.azure.net') }),
    key: loose({ name: fc.constant('db'), type: fc.constant('oct-HSM'), size: fc.constant(256) }),
    attestation: loose({
      authorities: fc.array(maybe(fc.constant('https://sharedeus.eus.attest.azure.net')), { maxLength: 2 }),
    }),
    workloads: junk,
  }),
});
const deployment = fc.record({
  apiVersion: fc.constant('apps/v1'),
  kind: fc.constantFrom('Deployment', 'Deployment', 'Deployment', 'Pod', 'List'),
  metadata: loose({ name: fc.constant('db'), namespace: fc.constant('shop') }),
  spec: loose({
    template: loose({
      metadata: loose({
        labels: loose({ app: fc.constant('db'), 'securekey.io/inject': fc.constant('true') }),
        annotations: loose({
          'securekey.io/key-db': fc.constant('db-key'),
          'securekey.io/format-db': fc.constantFrom('pem', 'raw'),
          'securekey.io/agent-mode': fc.constantFrom('init', 'sidecar'),
        }),
      }),
      spec: loose({
        containers: fc.array(loose({ name: fc.constant('app'), image: fc.constant('app:1') }), {
          maxLength: 2,
        }),
      }),
    }),
  }),
  items: maybe(fc.constant(undefined)),
});
const manifests = fc
  .tuple(secureKey, deployment, fc.array(fc.oneof(secureKey, deployment, junk), { maxLength: 2 }))
  .map(([sk, workload, more]) => [sk, workload, ...more]);
const yamlText = manifests.map((docs) => docs.map((d) => stringify(d)).join('---\n'));

function inject(text: string): void {
  writeFileSync(manifestFile, text);
  injectCommand(ARGS, io);
}

describe('securekey inject (fuzz)', () => {
  it('SecureKeys and workloads with fields missing or of the wrong type', () => {
    fc.assert(
      fc.property(yamlText, (text) => typedOrOk(() => inject(text))),
      fuzzParams(300),
    );
    expect(injectedRuns).toBeGreaterThan(0);
  });

  it('manifest text with characters changed', () => {
    const mutated = yamlText.chain((t) =>
      fc
        .array(
          fc.tuple(
            fc.nat(Math.max(0, t.length - 1)),
            fc.constantFrom(':', '-', ' ', '\n', '{', '"', '&', '*', '!', 'x'),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        )
        .map((edits) => edits.reduce((s, [i, c]) => s.slice(0, i) + c + s.slice(i + 1), t)),
    );
    fc.assert(
      fc.property(mutated, (text) => typedOrOk(() => inject(text))),
      fuzzParams(200),
    );
  });
});
