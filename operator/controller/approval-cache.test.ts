import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkApprovals, signApproval, type ApprovalClaims } from '../../core/approval/index.ts';
import { ApprovalCache } from './approval-cache.ts';

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const approver = { name: 'ci', publicKey: pair.publicKey.export({ format: 'jwk' }) };
const claims = (digest: string): ApprovalClaims => ({
  namespace: 'shop',
  secureKeys: ['db'],
  scheme: 'kata-agent-policy',
  digest,
  iat: 1_800_000_000,
});
const sign = (digest: string) => signApproval(claims(digest), pair.privateKey.export({ format: 'jwk' }));

describe('ApprovalCache', () => {
  it('checks each approval once: a relist of the same pods verifies nothing again', async () => {
    const cache = new ApprovalCache();
    const annotations = await Promise.all(['aa', 'bb', 'cc'].map((x) => sign(x.repeat(32))));
    for (let relist = 0; relist < 3; relist++) {
      for (const a of annotations) {
        const [checked] = await checkApprovals(a, [approver], cache.verify);
        expect(checked?.claims?.digest).toBeDefined();
      }
    }
    expect([cache.misses, cache.hits]).toEqual([3, 6]);
  });

  it('remembers a bad signature as bad, and stays within its capacity, oldest out', async () => {
    const cache = new ApprovalCache(2);
    const good = await sign('dd'.repeat(32));
    const [h, , s] = good.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify(claims('ee'.repeat(32)))).toString('base64url')}.${s}`;
    expect((await checkApprovals(forged, [approver], cache.verify))[0]?.claims).toBeUndefined();
    expect((await checkApprovals(forged, [approver], cache.verify))[0]?.claims).toBeUndefined();
    expect(cache.hits).toBe(1);
    await checkApprovals(good, [approver], cache.verify);
    await checkApprovals(await sign('ff'.repeat(32)), [approver], cache.verify);
    expect(cache.size).toBe(2);
    await checkApprovals(forged, [approver], cache.verify); // evicted: checked again
    expect(cache.misses).toBe(4);
  });
});
