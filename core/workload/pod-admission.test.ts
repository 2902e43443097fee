import { describe, expect, it } from 'vitest';
import { POLICY_ANNOTATIONS } from '../digest/index.ts';
import { pod, policy } from '../../test/support/reconcile.ts';
import {
  DEFAULT_POD_ADMISSION,
  FirstPolicies,
  podRefusal,
  type PodAdmission,
  type PodRefusalReason,
} from './pod-admission.ts';

const reason = (p: ReturnType<typeof pod>, admission: PodAdmission = DEFAULT_POD_ADMISSION) =>
  podRefusal(p, 'db-key', admission)?.reason;

describe('podRefusal', () => {
  it('lets a scheduled, confidential pod that carries the agent and names the SecureKey through', () => {
    expect(podRefusal(pod('ok', 'A'), 'db-key', DEFAULT_POD_ADMISSION)).toBeUndefined();
  });

  it.each<[string, Parameters<typeof pod>[2], PodRefusalReason]>([
    ['unscheduled', { node: undefined }, 'unscheduled'],
    ['a mirror pod', { mirror: true }, 'mirror-pod'],
    ['runc', { runtimeClass: 'runc' }, 'runtime-class'],
    ['no runtime class', { runtimeClass: undefined }, 'runtime-class'],
    ['without the agent', { agent: false }, 'no-agent'],
    ['naming another SecureKey', { secureKeys: ['cache-key'] }, 'other-securekey'],
    ['naming no SecureKey', { secureKeys: [] }, 'other-securekey'],
    ['with a patched policy', { policyChanged: true }, 'policy-changed'],
  ])('refuses a pod %s', (_, over, why) => {
    const refusal = podRefusal(pod('p', 'A', over), 'db-key', DEFAULT_POD_ADMISSION);
    expect(refusal?.reason).toBe(why);
    expect(refusal?.message).not.toBe('');
  });

  it('allows exactly the configured runtime classes, and no class only when asked', () => {
    const own: PodAdmission = { runtimeClasses: ['my-cc'], noRuntimeClass: false };
    expect(reason(pod('p', 'A', { runtimeClass: 'my-cc' }), own)).toBeUndefined();
    expect(reason(pod('p', 'A'), own)).toBe('runtime-class');
    expect(reason(pod('p', 'A', { runtimeClass: undefined }), own)).toBe('runtime-class');
    const virtualNodes: PodAdmission = { runtimeClasses: [], noRuntimeClass: true };
    expect(reason(pod('p', 'A', { runtimeClass: undefined }), virtualNodes)).toBeUndefined();
    expect(reason(pod('p', 'A'), virtualNodes)).toBe('runtime-class');
  });
});

describe('FirstPolicies', () => {
  const annotation = POLICY_ANNOTATIONS['kata-agent-policy'];
  const withPolicy = (text: string, uid = 'uid-1') =>
    pod('p', undefined, { uid, annotations: { [annotation]: policy(text).annotation } });

  it('marks a pod whose policy differs from the first observed for its uid, until it is put back', () => {
    const first = new FirstPolicies(() => 0);
    expect(first.observe(withPolicy('A')).policyChanged).toBe(false);
    expect(first.observe(withPolicy('A')).policyChanged).toBe(false);
    expect(first.observe(withPolicy('B')).policyChanged).toBe(true);
    expect(first.observe(pod('p', undefined, { uid: 'uid-1' })).policyChanged).toBe(true);
    expect(first.observe(withPolicy('A')).policyChanged).toBe(false);
  });

  it('tracks pods by uid, and remembers a uid that left the watch until it is pruned', () => {
    let now = 0;
    const first = new FirstPolicies(() => now, 1000);
    first.observe(withPolicy('A'));
    expect(first.observe(withPolicy('B', 'uid-2')).policyChanged).toBe(false);
    now = 999;
    first.observe(withPolicy('B', 'uid-2'));
    first.prune();
    // Label off, annotation patched, label back on: still the same uid.
    expect(first.observe(withPolicy('B')).policyChanged).toBe(true);
    now = 2000;
    first.observe(withPolicy('B', 'uid-2'));
    first.prune();
    expect(first.size).toBe(1);
    now = 3001;
    first.prune();
    expect(first.size).toBe(0);
    expect(first.observe(withPolicy('B')).policyChanged).toBe(false);
  });
});
