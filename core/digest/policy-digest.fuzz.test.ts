/**
 * Fuzz tier for policy digests (see test/support/fuzz.ts for the seed): pod annotations as YAML and
 * the API server hand them over (strings, but also numbers, null or objects from a hand-written
 * manifest) give a digest or a DigestError naming the annotation.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { PolicyScheme } from '../api/securekey.generated.ts';
import { fuzzParams, typedOrOk } from '../../test/support/fuzz.ts';
import { POLICY_ANNOTATIONS } from './annotations.ts';
import { detectPolicyScheme, policyDigest } from './policy-digest.ts';

const SCHEMES = Object.keys(POLICY_ANNOTATIONS) as PolicyScheme[];

const initdata = (toml: string): string => gzipSync(Buffer.from(toml)).toString('base64');
const tomlLine = fc.oneof(
  fc.constantFrom('version = "0.1.0"', 'algorithm = "sha256"', "algorithm = 'sha384'", '[data]', '# c'),
  fc.string({ maxLength: 30 }),
);

/** Values a policy annotation could hold: base64 of anything, gzip of near-initdata, or junk. */
const annotationValue = fc.oneof(
  fc.base64String({ maxLength: 200 }),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
  fc.array(tomlLine, { maxLength: 6 }).map((lines) => initdata(lines.join('\n'))),
  fc.anything({ maxDepth: 1 }),
);

const annotations = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom(...Object.values(POLICY_ANNOTATIONS), 'other'), annotationValue),
  fc.anything({ maxDepth: 2 }),
);

describe('policyDigest (fuzz)', () => {
  it('random annotations under every scheme', () => {
    fc.assert(
      // Deliberately not Record<string, string>: manifests and pods are not checked before this.
      fc.property(fc.constantFrom(...SCHEMES), annotations, (scheme, a) =>
        typedOrOk(() => {
          policyDigest(scheme, a as never);
          detectPolicyScheme(a as never);
        }),
      ),
      fuzzParams(),
    );
  });
});
