import { describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { desiredDigests } from './desired-digests.ts';
import { DEFAULT_POD_ADMISSION } from '../../core/workload/pod-admission.ts';
import { nextStatus, type NextStatusInput } from './next-status.ts';
import { noPodDigests } from './node-mode.ts';
import { planReleasePolicy } from './release-policy-plan.ts';
import { statusChanged } from './status-diff.ts';
import { pod, secureKey } from '../../test/support/reconcile.ts';

const T0 = new Date('2026-11-22T12:00:00Z');
const T1 = new Date('2026-11-22T12:05:00Z');
const KEY = {
  id: 'https://h.managedhsm.localhost/keys/db-key/v1',
  version: 'v1',
  createdOn: new Date('2026-11-22T11:00:00.123Z'),
  exportable: true,
  policy: undefined,
  owner: { secureKey: 'shop/db-key', uid: 'uid-db-key', cluster: 'cluster-1' },
};

function input(sk: SecureKey, over: Partial<NextStatusInput> = {}, now = T0): NextStatusInput {
  const pods = [
    pod('a', 'package a'),
    pod('b', undefined, { annotations: { 'io.katacontainers.config.agent.policy': '!!' } }),
  ];
  const desired = desiredDigests({
    admission: DEFAULT_POD_ADMISSION,
    secureKey: sk,
    pods,
    previous: sk.status?.policy?.digests,
    now,
  });
  return {
    secureKey: sk,
    now,
    desired,
    plan: planReleasePolicy(sk, desired.digests),
    key: KEY,
    action: { type: 'create' },
    ...over,
  };
}

const types = (sk: SecureKey) =>
  Object.fromEntries((sk.status?.conditions ?? []).map((c) => [c.type, [c.status, c.reason]]));

describe('nextStatus', () => {
  it('after creating the key: Ready, key id/version/createdAt, digests, hash, syncedAt, observedGeneration', () => {
    const sk = secureKey();
    const status = nextStatus(input(sk));
    expect(types({ ...sk, status })).toEqual({
      KeyReady: ['True', 'KeyAvailable'],
      PolicySynced: ['True', 'PolicySynced'],
      PodsAdmitted: ['False', 'InvalidPolicyAnnotation'],
      DigestsApproved: ['False', 'PodCreatorsTrusted'],
      Ready: ['True', 'Ready'],
    });
    expect(status.key).toEqual({ id: KEY.id, version: 'v1', createdAt: '2026-11-22T11:00:00Z' });
    expect(status.observedGeneration).toBe(3);
    expect(status.policy?.digestCount).toBe(1);
    expect(status.policy?.syncedAt).toBe('2026-11-22T12:00:00Z');
    expect(status.policy?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(status.conditions?.find((c) => c.type === 'PodsAdmitted')?.message).toContain('shop/b');
  });

  it('node mode: no pod conditions, digests or proposals; PolicySynced says what the policy admits', () => {
    const sk = secureKey({}, { mode: 'Node' });
    const plan = planReleasePolicy(sk, []);
    const status = nextStatus({ ...input(sk), desired: noPodDigests(), plan });
    expect(types({ ...sk, status })).toEqual({
      KeyReady: ['True', 'KeyAvailable'],
      PolicySynced: ['True', 'PolicySynced'],
      Ready: ['True', 'Ready'],
    });
    expect(status.conditions?.find((c) => c.type === 'PolicySynced')?.message).toBe(
      'release policy admits SEV-SNP confidential VMs (azure-compliant-cvm) attested by 1 authority; ' +
        'the node agent serves the key to the pods this SecureKey admits',
    );
    expect(status.policy).toEqual({ hash: plan.ok ? plan.hash : '', syncedAt: '2026-11-22T12:00:00Z' });
    expect(status.proposals).toBeUndefined();
    expect(status.proposalCount).toBeUndefined();
  });

  it('is stable: the same world later gives an identical status (so nothing is written)', () => {
    const sk = secureKey();
    const first: SecureKey = { ...sk, status: nextStatus(input(sk)) };
    const again = nextStatus(input(first, { action: { type: 'none' } }, T1));
    expect(statusChanged(first.status, again)).toBe(false);
  });

  it('a vault read failure keeps the last known key and hash and says why', () => {
    const sk = secureKey();
    const first: SecureKey = { ...sk, status: nextStatus(input(sk)) };
    const failed = nextStatus(
      input(
        first,
        { key: undefined, action: undefined, readFailure: { reason: 'Throttled', message: 'HTTP 429' } },
        T1,
      ),
    );
    expect(types({ ...sk, status: failed })).toMatchObject({
      KeyReady: ['False', 'Throttled'],
      PolicySynced: ['Unknown', 'Throttled'],
      Ready: ['False', 'Throttled'],
    });
    expect(failed.key).toEqual(first.status?.key);
    expect(failed.policy?.hash).toBe(first.status?.policy?.hash);
    expect(failed.policy?.syncedAt).toBe(first.status?.policy?.syncedAt);
    const ready = failed.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.lastTransitionTime).toBe('2026-11-22T12:05:00.000Z');
  });

  it('a failed policy update leaves KeyReady True and PolicySynced False', () => {
    const status = nextStatus(
      input(secureKey(), {
        action: { type: 'update-policy' },
        writeFailure: { reason: 'VaultUnavailable', message: 'HTTP 503' },
      }),
    );
    expect(types({ ...secureKey(), status })).toMatchObject({
      KeyReady: ['True', 'KeyAvailable'],
      PolicySynced: ['False', 'VaultUnavailable'],
      Ready: ['False', 'VaultUnavailable'],
    });
    expect(status.policy?.syncedAt).toBeUndefined();
  });

  it('a spec failure is PolicySynced False InvalidSpec with the message', () => {
    const status = nextStatus(
      input(secureKey(), {
        action: { type: 'none' },
        specFailure: 'podSelector.matchExpressions[0]: In needs values',
      }),
    );
    const c = status.conditions?.find((x) => x.type === 'PolicySynced');
    expect([c?.status, c?.reason, c?.message]).toEqual([
      'False',
      'InvalidSpec',
      'podSelector.matchExpressions[0]: In needs values',
    ]);
  });

  it('a non-exportable existing key is KeyReady False KeyNotExportable, policy pending', () => {
    const status = nextStatus(
      input(secureKey(), {
        action: { type: 'refuse', reason: 'KeyNotExportable', message: 'key db-key is not exportable' },
      }),
    );
    expect(types({ ...secureKey(), status })).toMatchObject({
      KeyReady: ['False', 'KeyNotExportable'],
      PolicySynced: ['Unknown', 'PolicyPending'],
      Ready: ['False', 'KeyNotExportable'],
    });
  });
});

describe('nextStatus approval reporting', () => {
  const statusFor = (sk: SecureKey) => {
    const desired = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [pod('web', 'package a')],
      previous: undefined,
      now: T0,
      approvals: new Map(),
    });
    return nextStatus({ ...input(sk), desired, plan: planReleasePolicy(sk, desired.digests) });
  };
  const approved = (status: ReturnType<typeof nextStatus>) =>
    status.conditions?.find((c) => c.type === 'DigestsApproved');

  it('lists an unapproved digest as a proposal with DigestsApproved False ApprovalPending', () => {
    const status = statusFor(secureKey({ approval: 'Signed' }));
    expect(approved(status)).toMatchObject({ status: 'False', reason: 'ApprovalPending' });
    expect(approved(status)?.message).toMatch(/1 digest\(s\) on selected pods await approval.*shop\/web/);
    expect(status.proposals).toEqual([
      expect.objectContaining({ pod: 'shop/web', reason: 'no-approval', since: T0.toISOString() }),
    ]);
    expect([status.proposalCount, status.policy?.digestCount]).toEqual([1, 0]);
    expect(types({ ...secureKey(), status }).Ready).toEqual(['True', 'Ready']);
  });

  it('is True AllApproved when nothing awaits approval', () => {
    const sk = secureKey({ approval: 'Signed', podSelector: { matchLabels: { app: 'none' } } });
    expect(approved(statusFor(sk))).toMatchObject({ status: 'True', reason: 'AllApproved' });
    expect(statusFor(sk).proposals).toBeUndefined();
  });

  it('says plainly that approval Observed trusts every pod creator of the namespace', () => {
    expect(approved(statusFor(secureKey({ approval: 'Observed' })))).toMatchObject({
      status: 'False',
      reason: 'PodCreatorsTrusted',
      message: expect.stringContaining('anyone who can create pods in namespace shop can receive this key'),
    });
  });

  it('names an unusable approver key', () => {
    const sk = secureKey({
      approval: 'Signed',
      approvers: [{ name: 'ci', publicKey: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' } }],
    });
    expect(approved(statusFor(sk))).toMatchObject({
      reason: 'InvalidApprovers',
      message: expect.stringContaining('approvers[0] (ci): an approver key must be public'),
    });
  });
});
