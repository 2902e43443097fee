import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';
import { isErrorOf } from '../../core/errors.ts';
import { INJECT_LABEL } from './constants.ts';
import { ReconcileError } from './errors.ts';
import { podKey, podPolicy, trimPod } from './observed-pod.ts';

describe('trimPod', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: 'shop',
      name: 'web-1',
      uid: 'u-1',
      labels: { [INJECT_LABEL]: 'true', app: 'web' },
      annotations: {
        [POLICY_ANNOTATIONS['kata-agent-policy']]: 'cGFja2FnZQ==',
        [POLICY_ANNOTATIONS['aci-cce']]: 'Y2Nl',
        'securekey.io/keys': 'k1',
        'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}',
        'other.io/x': 'y',
      },
      managedFields: [{ manager: 'kubectl' }],
    },
    spec: { containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Running', podIP: '10.0.0.1' },
  };

  it('keeps identity, labels, phase and the digest of each policy annotation; drops the rest', () => {
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(trimPod(pod)).toEqual({
      namespace: 'shop',
      name: 'web-1',
      uid: 'u-1',
      labels: { [INJECT_LABEL]: 'true', app: 'web' },
      policies: {
        'kata-agent-policy': { digest: sha('package') },
        'aci-cce': { digest: sha('cce') },
      },
      deleting: false,
      phase: 'Running',
    });
  });

  it('keeps a policy that yields no digest as a problem naming the annotation, not the policy text', () => {
    const annotation = POLICY_ANNOTATIONS['kata-initdata'];
    const p = trimPod({
      metadata: { namespace: 'a', name: 'b', annotations: { [annotation]: 'bm90IGd6aXA=' } },
    });
    expect(p.policies).toEqual({
      'kata-initdata': {
        problem: { annotation, kind: 'bad-gzip', message: expect.stringContaining(annotation) },
      },
    });
    expect(podPolicy(p, 'kata-agent-policy')).toEqual({
      problem: {
        annotation: POLICY_ANNOTATIONS['kata-agent-policy'],
        kind: 'annotation-missing',
        message: expect.stringContaining('missing'),
      },
    });
  });

  it('marks a pod with a deletionTimestamp (string or Date) as deleting', () => {
    const at = (t: unknown) =>
      trimPod({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: t } }).deleting;
    expect(at('2026-01-01T00:00:00Z')).toBe(true);
    expect(at(new Date())).toBe(true);
    expect(at(null)).toBe(false);
  });

  it('tolerates missing labels, annotations and status', () => {
    const p = trimPod({ metadata: { namespace: 'a', name: 'b' } });
    expect(p).toEqual({
      namespace: 'a',
      name: 'b',
      uid: '',
      labels: {},
      policies: {},
      deleting: false,
      phase: undefined,
    });
    expect(podKey(p)).toBe('a/b');
  });

  it.each([undefined, null, {}, { metadata: { name: 'x' } }, { metadata: { namespace: 'a', name: '' } }])(
    'refuses %j with bad-pod',
    (obj) => {
      expect(() => trimPod(obj)).toThrow(ReconcileError);
      try {
        trimPod(obj);
      } catch (err) {
        expect(isErrorOf(err, ReconcileError, 'bad-pod')).toBe(true);
      }
    },
  );
});
