/**
 * Fuzz tier for `key_hsm` (see test/support/fuzz.ts for the seed): random strings, envelopes with
 * members replaced, and real envelopes with ciphertext bytes changed are refused with a KeyWrapError.
 */
import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { fuzzParams, mutatedBytes, typedOrOk } from '../../test/support/fuzz.ts';
import { KEY_HSM_ENCS, parseKeyHsm, unwrapKeyHsm, wrapKeyHsm } from './key-hsm.ts';

const runtime = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const real = wrapKeyHsm(crypto.randomBytes(32), runtime.publicKey, { enc: 'RSA_AES_KEY_WRAP_256', kid: 'k' });
const realDoc = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as {
  ciphertext: string;
  header: Record<string, unknown>;
  schema_version: string;
};
const encode = (doc: unknown): string => Buffer.from(JSON.stringify(doc) ?? '').toString('base64url');

const member = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }), fc.string());
const envelope = fc.record(
  {
    ciphertext: fc.oneof(
      member,
      mutatedBytes(Buffer.from(realDoc.ciphertext, 'base64url')).map((b) => b.toString('base64url')),
    ),
    header: fc.oneof(
      member,
      fc.record(
        {
          alg: fc.oneof(fc.constant('dir'), member),
          enc: fc.oneof(fc.constantFrom(...Object.keys(KEY_HSM_ENCS)), member),
          kid: member,
        },
        { requiredKeys: [] },
      ),
    ),
    schema_version: fc.oneof(fc.constant('1.0'), member),
  },
  { requiredKeys: [] },
);

describe('key_hsm (fuzz)', () => {
  it('random strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String()), (s) => typedOrOk(() => parseKeyHsm(s))),
      fuzzParams(),
    );
  });

  it('envelopes with members missing, mistyped or mutated', () => {
    fc.assert(
      fc.property(fc.oneof(envelope, fc.jsonValue({ maxDepth: 2 })), (doc) =>
        typedOrOk(() => unwrapKeyHsm(encode(doc), runtime.privateKey)),
      ),
      fuzzParams(200),
    );
  });
});
