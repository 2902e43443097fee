import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { trimPod } from '../workload/index.ts';
import { isErrorOf } from '../errors.ts';
import { DigestError } from './errors.ts';
import { POLICY_ANNOTATIONS, PolicyDigestMemo, policyDigests } from './index.ts';

const KATA = POLICY_ANNOTATIONS['kata-agent-policy'];
const policy = (seed: string) => Buffer.from(`package agent_policy\n# ${seed}\n`.padEnd(64 * 1024, '#'));

function pod(rv: string, phase: string, annotation: string) {
  return {
    metadata: {
      namespace: 'ns',
      name: 'p',
      uid: 'u1',
      resourceVersion: rv,
      annotations: { [KATA]: annotation },
    },
    spec: { containers: [{ name: 'app' }] },
    status: { phase },
  };
}

describe('PolicyDigestMemo', () => {
  it('digests a pod once however often it is trimmed again (status updates, relists)', () => {
    const bytes = policy(`memo-${Math.random()}`);
    const b64 = bytes.toString('base64');
    const expected = createHash('sha256').update(bytes).digest('hex');
    const before = { hits: policyDigests.hits, misses: policyDigests.misses };
    expect(trimPod(pod('1', 'Pending', b64)).policies['kata-agent-policy']).toEqual({ digest: expected });
    trimPod(pod('2', 'Running', b64)); // status update
    trimPod(pod('2', 'Running', b64)); // relist
    expect(policyDigests.misses - before.misses).toBe(1);
    expect(policyDigests.hits - before.hits).toBe(2);
    // A changed annotation is a new value: digested, not served from the memo.
    const other = policy(`memo-other-${Math.random()}`);
    expect(trimPod(pod('3', 'Running', other.toString('base64'))).policies['kata-agent-policy']).toEqual({
      digest: createHash('sha256').update(other).digest('hex'),
    });
    expect(policyDigests.misses - before.misses).toBe(2);
  });

  it('remembers a refusal too, and throws the same typed error', () => {
    const memo = new PolicyDigestMemo();
    const bad = { [KATA]: 'not base64!' };
    const first = (() => {
      try {
        memo.digest('kata-agent-policy', bad);
      } catch (err) {
        return err;
      }
    })();
    expect(isErrorOf(first, DigestError, 'bad-base64')).toBe(true);
    expect(() => memo.digest('kata-agent-policy', bad)).toThrow(first as Error);
    expect({ hits: memo.hits, misses: memo.misses }).toEqual({ hits: 1, misses: 1 });
  });

  it('keeps the same value apart per scheme and stays within its bound, least recently used out first', () => {
    const memo = new PolicyDigestMemo(2);
    const a = {
      [KATA]: policy('a').toString('base64'),
      [POLICY_ANNOTATIONS['aci-cce']]: policy('a').toString('base64'),
    };
    memo.digest('kata-agent-policy', a);
    memo.digest('aci-cce', a);
    expect(memo.misses).toBe(2);
    memo.digest('kata-agent-policy', a); // now the most recent
    memo.digest('kata-agent-policy', { [KATA]: policy('b').toString('base64') }); // evicts aci-cce
    expect(memo.size).toBe(2);
    memo.digest('kata-agent-policy', a);
    expect(memo.hits).toBe(2);
    memo.digest('aci-cce', a);
    expect(memo.misses).toBe(4);
  });
});
