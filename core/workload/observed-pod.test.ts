import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { POLICY_ANNOTATIONS } from '../digest/index.ts';
import { isErrorOf } from '../errors.ts';
import { INJECT_LABEL } from '../inject/annotations.ts';
import { WorkloadError } from './errors.ts';
import { AGENT_CONTAINER } from '../inject/annotations.ts';
import { MIRROR_POD_ANNOTATION, podKey, podPolicy, trimPod } from './observed-pod.ts';

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
        'securekey.io/key-db': ' db-key ',
        'securekey.io/key-db2': 'db-key',
        'securekey.io/key-cache': 'cache-key',
        'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}',
        'other.io/x': 'y',
        'securekey.io/approval': 'h.p.s',
      },
      managedFields: [{ manager: 'kubectl' }],
    },
    spec: {
      nodeName: 'node-1',
      runtimeClassName: 'kata-cc-isolation',
      initContainers: [{ name: AGENT_CONTAINER, image: 'agent' }],
      containers: [{ name: 'c', image: 'x' }],
    },
    status: { phase: 'Running', podIP: '10.0.0.1' },
  };

  it('keeps identity, labels, phase, placement, the agent, the SecureKeys named and policy digests; drops the rest', () => {
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
      node: 'node-1',
      mirror: false,
      runtimeClass: 'kata-cc-isolation',
      agent: true,
      secureKeys: ['cache-key', 'db-key'],
      policyChanged: false,
      approval: 'h.p.s',
    });
  });

  it('keeps an oversized approval only as far as needed to refuse it as too long', () => {
    const huge = 'a'.repeat(1024 * 1024);
    const p = trimPod({
      ...pod,
      metadata: { ...pod.metadata, annotations: { 'securekey.io/approval': huge } },
    });
    expect(p.approval?.length).toBe(16 * 1024 + 1);
  });

  it('tells a mirror pod by the kubelet’s annotation', () => {
    const mirror = { ...pod.metadata, annotations: { [MIRROR_POD_ANNOTATION]: 'abc' } };
    expect(trimPod({ ...pod, metadata: mirror }).mirror).toBe(true);
  });

  it('finds the agent among init containers or containers, by the injector’s name only', () => {
    const withSpec = (spec: unknown) => trimPod({ ...pod, spec }).agent;
    expect(withSpec({ containers: [{ name: AGENT_CONTAINER }] })).toBe(true);
    expect(withSpec({ containers: [{ name: 'app', image: 'securekey-agent' }] })).toBe(false);
    expect(withSpec({ initContainers: 'nonsense', containers: [null] })).toBe(false);
  });

  it('treats an empty nodeName or runtimeClassName as unset', () => {
    const p = trimPod({ ...pod, spec: { nodeName: '', runtimeClassName: '' } });
    expect([p.node, p.runtimeClass]).toEqual([undefined, undefined]);
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
      node: undefined,
      mirror: false,
      runtimeClass: undefined,
      agent: false,
      secureKeys: [],
      policyChanged: false,
      approval: undefined,
    });
    expect(podKey(p)).toBe('a/b');
  });

  it.each([undefined, null, {}, { metadata: { name: 'x' } }, { metadata: { namespace: 'a', name: '' } }])(
    'refuses %j with bad-pod',
    (obj) => {
      expect(() => trimPod(obj)).toThrow(WorkloadError);
      try {
        trimPod(obj);
      } catch (err) {
        expect(isErrorOf(err, WorkloadError, 'bad-pod')).toBe(true);
      }
    },
  );
});
