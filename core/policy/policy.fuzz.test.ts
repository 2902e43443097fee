/**
 * Fuzz tier for release policies (see test/support/fuzz.ts for the seed): random JSON, the published
 * examples with a member replaced or removed, mutated text and wire envelopes are accepted or refused
 * with a ReleasePolicyError; what is accepted evaluates and yields its digests without throwing.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fuzzParams, typedOrOk } from '../../test/support/fuzz.ts';
import { buildPolicy } from './build.ts';
import { digestsOf } from './digests.ts';
import { decodeReleasePolicy, encodeReleasePolicy } from './encoding.ts';
import { evaluatePolicy } from './evaluate.ts';
import { parsePolicy, parsePolicyJson } from './parse.ts';
import {
  CVM_SKR_POLICY_EXCERPT,
  IMPORTKEY_POLICY,
  JS_SDK_2021_POLICY,
  JS_SDK_POLICY,
  JS_SDK_TOKEN_CLAIMS,
  maaContainerClaims,
  SPEC_7_4_RELEASE_POLICY,
} from './published-examples.ts';

const EXAMPLES: unknown[] = [
  JSON.parse(SPEC_7_4_RELEASE_POLICY),
  JSON.parse(CVM_SKR_POLICY_EXCERPT),
  JSON.parse(IMPORTKEY_POLICY),
  JS_SDK_2021_POLICY,
  JS_SDK_POLICY,
];
const EXAMPLE_TEXTS = [SPEC_7_4_RELEASE_POLICY, CVM_SKR_POLICY_EXCERPT, IMPORTKEY_POLICY];

/** Every path to a member or element of `doc`. */
function paths(doc: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof doc !== 'object' || doc === null) return [at];
  const keys = Array.isArray(doc) ? doc.map((_, i) => i) : Object.keys(doc);
  return [at, ...keys.flatMap((k) => paths((doc as Record<string | number, unknown>)[k], [...at, k]))];
}

/** A deep copy of `doc` with the value at `path` replaced by `value`, or removed when it is undefined. */
function replaced(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

const mutatedExample = fc
  .constantFrom(...EXAMPLES)
  .chain((doc) =>
    fc
      .tuple(
        fc.constantFrom(...paths(doc)),
        fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.anything({ maxDepth: 2 })),
      )
      .map(([path, value]) => replaced(doc, path, value)),
  );

/** Parse, and for an accepted policy run what the operator and vault run on it. */
function parseAndUse(doc: unknown, claims: unknown): void {
  const policy = parsePolicy(doc);
  digestsOf(policy);
  evaluatePolicy(policy, claims);
}

const claims = fc.oneof(
  fc.constant(maaContainerClaims()),
  fc.constant(JS_SDK_TOKEN_CLAIMS),
  fc.anything({ maxDepth: 3 }),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })),
);

describe('release policy (fuzz)', () => {
  it('random JSON values and objects', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 5 }), fc.anything({ maxDepth: 4 })), claims, (doc, c) =>
        typedOrOk(() => parseAndUse(doc, c)),
      ),
      fuzzParams(),
    );
  });

  it('published examples with one member replaced or removed', () => {
    fc.assert(
      fc.property(mutatedExample, claims, (doc, c) => typedOrOk(() => parseAndUse(doc, c))),
      fuzzParams(500),
    );
  });

  it('published policy texts with characters changed', () => {
    const text = fc
      .constantFrom(...EXAMPLE_TEXTS)
      .chain((t) =>
        fc
          .array(fc.tuple(fc.nat(t.length - 1), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 4 })
          .map((edits) => edits.reduce((s, [i, v]) => s.slice(0, i) + v + s.slice(i + 1), t)),
      );
    fc.assert(
      fc.property(text, (t) => typedOrOk(() => parsePolicyJson(t))),
      fuzzParams(),
    );
  });

  it('release_policy envelopes with random members', () => {
    const data = fc.oneof(
      fc.string(),
      fc.base64String(),
      fc.constant(encodeReleasePolicy(parsePolicyJson(IMPORTKEY_POLICY)).data),
      fc.anything({ maxDepth: 1 }),
    );
    const envelope = fc.oneof(
      fc.record(
        {
          contentType: fc.oneof(fc.constant('application/json; charset=utf-8'), fc.anything({ maxDepth: 1 })),
          data,
          immutable: fc.anything({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
      fc.anything({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(envelope, (wire) => typedOrOk(() => decodeReleasePolicy(wire))),
      fuzzParams(),
    );
  });

  it('buildPolicy with random inputs', () => {
    const strings = fc.oneof(
      fc.array(
        fc.oneof(
          fc.string(),
          fc.constant('https://sharedneu.neu.attest.azure.net'),
          fc.stringMatching(/^[0-9a-f]{64}$/),
        ),
      ),
      fc.anything({ maxDepth: 1 }),
    );
    const input = fc.record(
      {
        authorities: strings,
        digests: strings,
        complianceStatuses: strings,
        baseClaims: fc.oneof(
          fc.array(fc.record({ claim: fc.anything({ maxDepth: 0 }), equals: fc.anything({ maxDepth: 0 }) })),
          fc.anything({ maxDepth: 1 }),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      // The input is deliberately not a ReleasePolicyInput: buildPolicy checks what it is given.
      fc.property(input, (i) => typedOrOk(() => buildPolicy(i as never))),
      fuzzParams(),
    );
  });
});
