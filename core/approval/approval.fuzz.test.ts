/**
 * Fuzz tier for approvals (see test/support/fuzz.ts for the seed): whatever a pod creator writes into
 * securekey.io/approval, including mutations of a real approval, parses to approvals or an
 * ApprovalError, and a mutated approval never admits.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzParams, mutatedBytes, typedOrOk } from '../../test/support/fuzz.ts';
import { checkApprovals, judgeApprovals, parseApprovals, signApproval } from './index.ts';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const approvers = [{ name: 'ci', publicKey: publicKey.export({ format: 'jwk' }) as Record<string, unknown> }];
const DIGEST = '0f'.repeat(32);
const NOW = new Date('2026-12-07T00:00:00Z');
const valid = await signApproval(
  { namespace: 'ns', secureKeys: ['sk'], scheme: 'kata-agent-policy', digest: DIGEST, iat: 1_700_000_000 },
  privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
);
const ctx = {
  namespace: 'ns',
  secureKey: 'sk',
  scheme: 'kata-agent-policy' as const,
  digest: DIGEST,
  now: NOW,
};

describe('approval annotation fuzz', () => {
  it('parses any string to approvals or an ApprovalError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.base64String({ maxLength: 400 })), (s) =>
        typedOrOk(() => parseApprovals(s)),
      ),
      fuzzParams(),
    );
  });

  it('never admits a mutated approval', async () => {
    expect(judgeApprovals(await checkApprovals(valid, approvers), ctx)).toMatchObject({ approved: true });
    await fc.assert(
      fc.asyncProperty(mutatedBytes(Buffer.from(valid)), async (bytes) => {
        const text = bytes.toString('latin1');
        if (text === valid) return;
        const verdict = judgeApprovals(await checkApprovals(text, approvers), ctx);
        // Base64url has spare bits in its last character: such a change decodes to the same bytes.
        const decoded = (jws: string) => jws.split('.').map((part) => Buffer.from(part, 'base64url'));
        if (verdict.approved) expect(decoded(text)).toEqual(decoded(valid));
      }),
      fuzzParams(200),
    );
  });
});
