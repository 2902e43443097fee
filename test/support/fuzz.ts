/**
 * The fuzz tier's shared settings and property. Each `*.fuzz.test.ts` runs a bounded number of inputs
 * from a fixed seed so CI is reproducible; to explore with a random seed run, e.g.,
 *   FUZZ_SEED=random npx vitest run core/snp/report.fuzz.test.ts
 * and add any counterexample it prints as a regression example beside the code it broke.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { SecureKeyError } from '../../core/errors.ts';

const seedFromEnv = process.env['FUZZ_SEED'];

/** fast-check parameters: a fixed seed, a few hundred runs, and a time limit so a file takes seconds. */
export function fuzzParams<T>(numRuns = 300): fc.Parameters<T> {
  return {
    seed: seedFromEnv === 'random' ? Date.now() : seedFromEnv ? Number(seedFromEnv) : 0x5ec4e1,
    numRuns,
    interruptAfterTimeLimit: 4_000,
    endOnFailure: false,
  };
}

/** The fuzz property: `fn` returns, or throws a SecureKeyError whose message names the problem. */
export function typedOrOk(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expectTyped(err);
  }
}

function expectTyped(err: unknown): void {
  expect(err, `escaped: ${String(err)}`).toBeInstanceOf(SecureKeyError);
  expect((err as SecureKeyError).message.length).toBeGreaterThan(0);
}

/** `bytes` with random bytes overwritten, truncated or extended: the mutations a fuzzer tries first. */
export function mutatedBytes(bytes: Uint8Array): fc.Arbitrary<Buffer> {
  const n = bytes.length;
  const overwrite = fc
    .array(fc.tuple(fc.nat(n - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
    .map((edits) => {
      const b = Buffer.from(bytes);
      for (const [i, v] of edits) b[i] = v;
      return b;
    });
  const truncate = fc.nat(n - 1).map((len) => Buffer.from(bytes.subarray(0, len)));
  const extend = fc.uint8Array({ minLength: 1, maxLength: 32 }).map((tail) => Buffer.concat([bytes, tail]));
  return fc.oneof({ arbitrary: overwrite, weight: 6 }, truncate, extend);
}
