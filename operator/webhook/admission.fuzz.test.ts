/**
 * Fuzz tier for the webhook (see test/support/fuzz.ts for the seed): whatever the API server or an
 * impostor posts, `admit` answers a well-formed AdmissionReview response and never throws. Garbage
 * is denied with a message; the pod is never mutated from a review it could not read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { agentSettings } from '../../core/inject/index.ts';
import { fuzzParams } from '../../test/support/fuzz.ts';
import { admit, type AdmissionContext, type AdmissionResponse } from './admission.ts';

const secureKey = {
  apiVersion: 'securekey.io/v1alpha1',
  kind: 'SecureKey',
  metadata: { name: 'db-key', namespace: 'shop' },
  spec: {
    vault: { url: 'https://hsm1.managedhsm.azure.net' },
    key: { name: 'db-key', type: 'RSA-HSM', size: 2048 },
    attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
    workloads: {},
  },
} as SecureKey;

const ctx: AdmissionContext = {
  settings: agentSettings({ image: 'agent:1' }),
  excludedNamespaces: new Set(['kube-system']),
  resolve: async (_namespace, name) => (name === 'db-key' ? secureKey : undefined),
};

/** Any JSON value, sometimes a huge string. */
const junk = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 4 },
  fc.constant('x'.repeat(1 << 20)),
  fc.anything({ maxDepth: 1 }),
);
/** Mostly `arb`, sometimes junk: most reviews get past the first checks to the injector. */
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> =>
  fc.oneof({ arbitrary: arb, weight: 15 }, junk);

const container = fc.record(
  {
    name: maybe(fc.constantFrom('app', 'sidecar')),
    image: maybe(fc.constant('a')),
    volumeMounts: maybe(fc.constant([{ name: 'data', mountPath: '/data' }])),
    env: junk,
  },
  { requiredKeys: ['name', 'image'] },
);
const pod = fc.record(
  {
    metadata: maybe(
      fc.record(
        {
          name: maybe(fc.constant('db')),
          labels: maybe(fc.constant({ 'securekey.io/inject': 'true' })),
          annotations: maybe(
            fc
              .dictionary(
                fc.constantFrom(
                  'securekey.io/format-db',
                  'securekey.io/path-db',
                  'securekey.io/key-x',
                  'other',
                ),
                maybe(fc.constantFrom('db-key', 'pem', 'key.pem', 'missing-key')),
              )
              .map((a) => ({ 'securekey.io/key-db': 'db-key', ...a })),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    spec: maybe(
      fc.record(
        {
          containers: maybe(fc.array(maybe(container), { maxLength: 3 })),
          initContainers: maybe(fc.array(maybe(container), { maxLength: 2 })),
          volumes: maybe(fc.constant([{ name: 'data', emptyDir: {} }])),
          securityContext: junk,
        },
        { requiredKeys: ['containers'] },
      ),
    ),
  },
  { requiredKeys: ['metadata', 'spec'] },
);
const request = fc.record(
  {
    uid: maybe(fc.uuid()),
    kind: maybe(fc.constant({ group: '', version: 'v1', kind: 'Pod' })),
    operation: maybe(fc.constant('CREATE')),
    namespace: maybe(fc.constantFrom('shop', 'kube-system')),
    object: maybe(pod),
    dryRun: junk,
  },
  { requiredKeys: ['uid', 'kind', 'operation', 'object'] },
);
const review = fc.oneof(
  {
    arbitrary: fc.record(
      { apiVersion: junk, kind: junk, request: maybe(request) },
      { requiredKeys: ['request'] },
    ),
    weight: 5,
  },
  junk,
);

function expectWellFormed(response: AdmissionResponse): void {
  expect(typeof response.uid).toBe('string');
  expect(typeof response.allowed).toBe('boolean');
  if (!response.allowed) expect(response.status?.message).toMatch(/\S/);
  if (response.patch !== undefined) {
    expect(response.patchType).toBe('JSONPatch');
    expect(Array.isArray(JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')))).toBe(true);
  }
}

describe('admit (fuzz)', () => {
  it('answers every review with a well-formed response', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(review, async (r) => {
        // Deliberately not an AdmissionReview: admit must check what it is given.
        const { response, outcome } = await admit(r as never, ctx);
        expectWellFormed(response);
        outcomes.add(outcome);
      }),
      fuzzParams(300),
    );
    // The inputs reach the injector, not only the first checks.
    expect([...outcomes]).toEqual(expect.arrayContaining(['denied', 'mutated', 'skipped']));
  });
});
