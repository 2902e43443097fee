import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DigestStatus } from '../../core/api/securekey.generated.ts';
import type { ApprovalVerdict } from '../../core/approval/index.ts';
import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';
import { isErrorOf } from '../../core/errors.ts';
import { testdata } from '../../test/support/paths.ts';
import { INJECT_LABEL } from './constants.ts';
import { selectedPods } from '../../core/workload/selection.ts';
import { desiredDigests } from './desired-digests.ts';
import { DEFAULT_POD_ADMISSION } from '../../core/workload/pod-admission.ts';
import { ReconcileError } from './errors.ts';
import { pod, policy, secureKey } from '../../test/support/reconcile.ts';

const T0 = new Date('2026-11-22T10:00:00.000Z');
const HOUR = 3_600_000;
const at = (ms: number) => new Date(T0.getTime() + ms);
const A = policy('package A');
const B = policy('package B');
const C = policy('package C');

describe('selectedPods', () => {
  it('takes opt-in, selected, live pods of the SecureKey namespace only, sorted by ns/name', () => {
    const pods = [
      pod('z', 'A'),
      pod('a', 'A'),
      pod('other-ns', 'A', { namespace: 'elsewhere' }),
      pod('no-label', 'A', { labels: { app: 'db' } }),
      pod('label-false', 'A', { labels: { [INJECT_LABEL]: 'false', app: 'db' } }),
      pod('unselected', 'A', { labels: { [INJECT_LABEL]: 'true', app: 'web' } }),
      pod('deleting', 'A', { deleting: true }),
      pod('done', 'A', { phase: 'Succeeded' }),
      pod('failed', 'A', { phase: 'Failed' }),
      pod('pending', 'A', { phase: 'Pending' }),
      pod('no-phase', 'A', { phase: undefined }),
    ];
    const sk = secureKey({ podSelector: { matchLabels: { app: 'db' } } });
    expect(selectedPods(sk, pods).map((p) => p.name)).toEqual(['a', 'no-phase', 'pending', 'z']);
  });
});

describe('desiredDigests', () => {
  it('admits no digest from a pod that fails a pod-admission check, and says why per pod', () => {
    const refused = [
      pod('unscheduled', 'package B', { node: undefined }),
      pod('mirror', 'package B', { mirror: true }),
      pod('runc', 'package B', { runtimeClass: 'runc' }),
      pod('no-agent', 'package B', { agent: false }),
      pod('other-key', 'package B', { secureKeys: ['cache-key'] }),
      pod('patched', 'package B', { policyChanged: true }),
    ];
    const r = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: secureKey(),
      pods: [...refused, pod('proper', 'package A')],
      previous: undefined,
      now: T0,
    });
    expect(r.digests.map((d) => d.digest)).toEqual([A.digest]);
    expect(r.refused.map((x) => [x.pod, x.reason])).toEqual([
      ['shop/mirror', 'mirror-pod'],
      ['shop/no-agent', 'no-agent'],
      ['shop/other-key', 'other-securekey'],
      ['shop/patched', 'policy-changed'],
      ['shop/runc', 'runtime-class'],
      ['shop/unscheduled', 'unscheduled'],
    ]);
    expect(r.problems).toEqual([]);
  });

  it('admits pods without a runtime class only when the admission allows them', () => {
    const run = (noRuntimeClass: boolean) =>
      desiredDigests({
        admission: { runtimeClasses: [], noRuntimeClass },
        secureKey: secureKey(),
        pods: [pod('virtual-node', 'package A', { runtimeClass: undefined })],
        previous: undefined,
        now: T0,
      }).digests.map((d) => d.digest);
    expect(run(true)).toEqual([A.digest]);
    expect(run(false)).toEqual([]);
  });

  it('digests a real policy to the HOST_DATA of the real SNP report', () => {
    const b64 = readFileSync(testdata('snp-real', 'policy.base64'), 'utf8').trim();
    const hostData = readFileSync(testdata('snp-real', 'report.bin')).subarray(0xc0, 0xe0).toString('hex');
    const p = pod('aci', undefined, { annotations: { [POLICY_ANNOTATIONS['aci-cce']]: b64 } });
    const r = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: secureKey({ policyScheme: 'aci-cce' }),
      pods: [p],
      previous: undefined,
      now: T0,
    });
    expect(r.problems).toEqual([]);
    expect(r.digests).toEqual([
      {
        digest: hostData,
        source: 'Pod',
        pod: 'shop/aci',
        firstSeen: T0.toISOString(),
      },
    ]);
  });

  it('reads the annotation of the SecureKey scheme only', () => {
    const p = pod('x', 'package A');
    const r = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: secureKey({ policyScheme: 'aci-cce' }),
      pods: [p],
      previous: undefined,
      now: T0,
    });
    expect(r.digests).toEqual([]);
    expect(r.problems).toEqual([
      expect.objectContaining({
        pod: 'shop/x',
        annotation: POLICY_ANNOTATIONS['aci-cce'],
        kind: 'annotation-missing',
      }),
    ]);
  });

  it('a malformed annotation on one pod of three is a problem naming it; the others are admitted', () => {
    const bad = pod('b-bad', undefined, {
      annotations: { [POLICY_ANNOTATIONS['kata-agent-policy']]: 'not base64!' },
    });
    const r = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: secureKey(),
      pods: [pod('c', 'package C'), bad, pod('a', 'package A')],
      previous: undefined,
      now: T0,
    });
    expect(r.digests.map((d) => [d.digest, d.pod])).toEqual(
      [
        [A.digest, 'shop/a'],
        [C.digest, 'shop/c'],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
    );
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({
      pod: 'shop/b-bad',
      annotation: POLICY_ANNOTATIONS['kata-agent-policy'],
      kind: 'bad-base64',
    });
    expect(r.problems[0]?.message).toContain(POLICY_ANNOTATIONS['kata-agent-policy']);
  });

  it('is deterministic: pods in any order give the same output, the first pod by name is named', () => {
    const pods = [
      pod('web-2', 'package A'),
      pod('web-1', 'package A'),
      pod('api', 'package B'),
      pod('x', undefined),
    ];
    const run = (ps: typeof pods) =>
      desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: secureKey(),
        pods: ps,
        previous: undefined,
        now: T0,
      });
    const first = run(pods);
    expect(run([...pods].reverse())).toEqual(first);
    expect(run([pods[2]!, pods[0]!, pods[3]!, pods[1]!])).toEqual(first);
    expect(first.digests.map((d) => d.digest)).toEqual([A.digest, B.digest].sort());
    expect(first.digests.find((d) => d.digest === A.digest)?.pod).toBe('shop/web-1');
    expect(first.problems.map((p) => p.pod)).toEqual(['shop/x']);
  });

  it('preserves firstSeen across calls; a carried digest has no lastSeen, so steady state changes nothing', () => {
    const sk = secureKey();
    const one = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [pod('a', 'package A')],
      previous: undefined,
      now: T0,
    });
    const two = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [pod('a', 'package A'), pod('b', 'package B')],
      previous: one.digests,
      now: at(HOUR),
    });
    expect(two.digests.find((d) => d.digest === A.digest)).toEqual({
      digest: A.digest,
      source: 'Pod',
      pod: 'shop/a',
      firstSeen: T0.toISOString(),
    });
    expect(two.digests.find((d) => d.digest === B.digest)?.firstSeen).toBe(at(HOUR).toISOString());
    const three = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [pod('a', 'package A'), pod('b', 'package B')],
      previous: two.digests,
      now: at(5 * HOUR),
    });
    expect(three.digests).toEqual(two.digests);
  });

  describe('retention of digests no pod carries any more', () => {
    const sk = secureKey({}, { digestRetention: '1h30m' });
    const seen = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [pod('a', 'package A'), pod('b', 'package B')],
      previous: undefined,
      now: T0,
    });
    // Pod a goes at `gone`; the first reconcile after that stamps lastSeen; retention runs from there.
    const gone = at(10 * 60_000);
    const stamped = desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: sk,
      pods: [pod('b', 'package B')],
      previous: seen.digests,
      now: gone,
    });
    const expiry = new Date(gone.getTime() + 90 * 60_000);
    const later = (now: Date) =>
      desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [pod('b', 'package B')],
        previous: stamped.digests,
        now,
      });

    it('stamps lastSeen when the last pod carrying a digest goes', () => {
      expect(stamped.digests.find((d) => d.digest === A.digest)).toEqual({
        digest: A.digest,
        source: 'Pod',
        pod: 'shop/a',
        firstSeen: T0.toISOString(),
        lastSeen: gone.toISOString(),
      });
      expect(stamped.nextExpiry).toEqual(expiry);
    });

    it('keeps the digest, unchanged, until lastSeen + digestRetention and says when to requeue', () => {
      const r = later(new Date(expiry.getTime() - 1));
      expect(r.digests.find((d) => d.digest === A.digest)).toEqual(
        stamped.digests.find((d) => d.digest === A.digest),
      );
      expect(r.nextExpiry).toEqual(expiry);
    });

    it('drops it at expiry and after', () => {
      for (const now of [expiry, new Date(expiry.getTime() + 1)]) {
        const r = later(now);
        expect(r.digests.map((d) => d.digest)).toEqual([B.digest]);
        expect(r.nextExpiry).toBeUndefined();
      }
    });

    it('uses the 24h default when digestRetention is unset', () => {
      const def = secureKey();
      const carried = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: def,
        pods: [pod('a', 'package A')],
        previous: undefined,
        now: T0,
      }).digests;
      const prev = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: def,
        pods: [],
        previous: carried,
        now: T0,
      }).digests;
      const keep = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: def,
        pods: [],
        previous: prev,
        now: at(24 * HOUR - 1),
      });
      expect(keep.digests.map((d) => d.digest)).toEqual([A.digest]);
      expect(keep.nextExpiry).toEqual(at(24 * HOUR));
      expect(
        desiredDigests({
          admission: DEFAULT_POD_ADMISSION,
          secureKey: def,
          pods: [],
          previous: prev,
          now: at(24 * HOUR),
        }).digests,
      ).toEqual([]);
    });

    it('nextExpiry is the earliest of several', () => {
      const prev: DigestStatus[] = [
        { digest: A.digest, source: 'Pod', firstSeen: T0.toISOString(), lastSeen: at(HOUR).toISOString() },
        { digest: C.digest, source: 'Pod', firstSeen: T0.toISOString(), lastSeen: T0.toISOString() },
      ];
      const r = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [],
        previous: prev,
        now: at(HOUR),
      });
      expect(r.digests.map((d) => d.digest)).toEqual([A.digest, C.digest].sort());
      expect(r.nextExpiry).toEqual(at(90 * 60_000));
    });

    it('a digest that comes back is carried again (no lastSeen) and keeps firstSeen', () => {
      const back = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [pod('a2', 'package A')],
        previous: later(at(HOUR)).digests,
        now: at(80 * 60_000),
      });
      expect(back.digests.find((d) => d.digest === A.digest)).toEqual({
        digest: A.digest,
        source: 'Pod',
        pod: 'shop/a2',
        firstSeen: T0.toISOString(),
      });
    });

    it('an unreadable lastSeen restarts retention instead of dropping the digest', () => {
      const prev: DigestStatus[] = [
        { digest: A.digest, source: 'Pod', firstSeen: T0.toISOString(), lastSeen: 'yesterday' },
      ];
      const r = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [],
        previous: prev,
        now: T0,
      });
      expect(r.digests[0]?.lastSeen).toBe(T0.toISOString());
      expect(r.nextExpiry).toEqual(at(90 * 60_000));
    });
  });

  describe('static digests', () => {
    it('are Static with firstSeen preserved, and listed once when pods carry them too', () => {
      const sk = secureKey({ allowedDigests: [C.digest, A.digest] });
      const one = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [],
        previous: undefined,
        now: T0,
      });
      expect(one.digests).toEqual(
        [
          { digest: A.digest, source: 'Static', firstSeen: T0.toISOString() },
          { digest: C.digest, source: 'Static', firstSeen: T0.toISOString() },
        ].sort((x, y) => (x.digest < y.digest ? -1 : 1)),
      );
      const two = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [pod('a', 'package A')],
        previous: one.digests,
        now: at(HOUR),
      });
      expect(two.digests).toHaveLength(2);
      expect(two.digests.find((d) => d.digest === A.digest)).toEqual({
        digest: A.digest,
        source: 'Static',
        pod: 'shop/a',
        firstSeen: T0.toISOString(),
      });
    });

    it('removed from the spec: leave at once if never seen on a pod, else after retention', () => {
      const sk = secureKey({ allowedDigests: [A.digest, C.digest] }, { digestRetention: '1h' });
      const prev = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: sk,
        pods: [pod('a', 'package A')],
        previous: undefined,
        now: T0,
      }).digests;
      const removed = secureKey({}, { digestRetention: '1h' });
      // Removed from the spec and pod a gone at T0: retention runs from the first reconcile after.
      const stamped = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: removed,
        pods: [],
        previous: prev,
        now: T0,
      }).digests;
      const r = desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: removed,
        pods: [],
        previous: stamped,
        now: at(HOUR - 1),
      });
      expect(r.digests).toEqual([
        {
          digest: A.digest,
          source: 'Pod',
          pod: 'shop/a',
          firstSeen: T0.toISOString(),
          lastSeen: T0.toISOString(),
        },
      ]);
      expect(
        desiredDigests({
          admission: DEFAULT_POD_ADMISSION,
          secureKey: removed,
          pods: [],
          previous: stamped,
          now: at(HOUR),
        }).digests,
      ).toEqual([]);
    });
  });

  it('refuses a malformed digestRetention with bad-duration', () => {
    try {
      desiredDigests({
        admission: DEFAULT_POD_ADMISSION,
        secureKey: secureKey({}, { digestRetention: '1 day' }),
        pods: [],
        previous: undefined,
        now: T0,
      });
      expect.unreachable();
    } catch (err) {
      expect(isErrorOf(err, ReconcileError, 'bad-duration')).toBe(true);
    }
  });
});

describe('desiredDigests under approval Signed', () => {
  const signed = (over: Parameters<typeof secureKey>[0] = {}) => secureKey({ approval: 'Signed', ...over });
  const approvedBy = (approver: string, expiresAt?: Date): ApprovalVerdict =>
    expiresAt === undefined ? { approved: true, approver } : { approved: true, approver, expiresAt };
  const unapproved: ApprovalVerdict = {
    approved: false,
    reason: 'unknown-signer',
    message: 'a stranger signed',
  };
  const run = (
    pods: ReturnType<typeof pod>[],
    approvals: Record<string, ApprovalVerdict>,
    over: Partial<Parameters<typeof desiredDigests>[0]> = {},
  ) =>
    desiredDigests({
      admission: DEFAULT_POD_ADMISSION,
      secureKey: signed(),
      pods,
      previous: undefined,
      now: T0,
      approvals: new Map(Object.entries(approvals)),
      ...over,
    });

  it('admits no unapproved digest and proposes it, naming the pod and why', () => {
    const r = run([pod('attacker', 'package A'), pod('web', 'package B')], {
      'shop/attacker': unapproved,
    });
    expect(r.digests).toEqual([]);
    expect(r.proposed).toEqual([
      ...[
        { digest: A.digest, pod: 'shop/attacker', reason: 'unknown-signer', message: 'a stranger signed' },
        {
          digest: B.digest,
          pod: 'shop/web',
          reason: 'no-approval',
          message: 'the pod carries no securekey.io/approval',
        },
      ]
        .sort((x, y) => (x.digest < y.digest ? -1 : 1))
        .map((p) => ({ ...p, since: T0.toISOString() })),
    ]);
  });

  it('keeps when a digest was first proposed', () => {
    const since = '2026-11-01T00:00:00.000Z';
    const r = run(
      [pod('web', 'package A')],
      {},
      {
        previousProposals: [{ digest: A.digest, pod: 'shop/web', since, reason: 'no-approval' }],
      },
    );
    expect(r.proposed.map((p) => p.since)).toEqual([since]);
  });

  it('admits an approved digest with its approver and expiry, and requeues at the expiry', () => {
    const end = at(2 * HOUR);
    const r = run([pod('web', 'package A')], { 'shop/web': approvedBy('ci', end) });
    expect(r.digests).toEqual([
      {
        digest: A.digest,
        source: 'Pod',
        pod: 'shop/web',
        firstSeen: T0.toISOString(),
        approvedBy: 'ci',
        approvalExpires: end.toISOString(),
      },
    ]);
    expect(r.proposed).toEqual([]);
    expect(r.nextExpiry).toEqual(end);
  });

  it('a digest approved on one pod is admitted, not proposed, though another pod with it is unapproved', () => {
    const r = run([pod('a-copy', 'package A'), pod('b-approved', 'package A')], {
      'shop/b-approved': approvedBy('ci'),
    });
    expect(r.digests.map((d) => [d.digest, d.approvedBy])).toEqual([[A.digest, 'ci']]);
    expect(r.proposed).toEqual([]);
  });

  it('admits a digest listed in allowedDigests without approval', () => {
    const r = run([pod('web', 'package A')], {}, { secureKey: signed({ allowedDigests: [A.digest] }) });
    expect(r.digests.map((d) => [d.digest, d.source])).toEqual([[A.digest, 'Static']]);
    expect(r.proposed).toEqual([]);
  });

  it('ends a retained digest at its approval expiry, before its retention would', () => {
    const previous: DigestStatus[] = [
      {
        digest: A.digest,
        source: 'Pod',
        pod: 'shop/gone',
        firstSeen: T0.toISOString(),
        lastSeen: T0.toISOString(),
        approvedBy: 'ci',
        approvalExpires: at(HOUR).toISOString(),
      },
    ];
    expect(run([], {}, { previous, now: at(HOUR / 2) }).digests.map((d) => d.digest)).toEqual([A.digest]);
    expect(run([], {}, { previous, now: at(HOUR / 2) }).nextExpiry).toEqual(at(HOUR));
    expect(run([], {}, { previous, now: at(HOUR) }).digests).toEqual([]);
  });

  it('does not retain a digest that was admitted without approval (under Observed, or by an older operator)', () => {
    const previous: DigestStatus[] = [
      { digest: A.digest, source: 'Pod', pod: 'shop/gone', firstSeen: T0.toISOString() },
    ];
    expect(run([], {}, { previous, now: at(1000) }).digests).toEqual([]);
    // The same status under Observed keeps it for the retention.
    expect(
      run([], {}, { previous, now: at(1000), secureKey: secureKey() }).digests.map((d) => d.digest),
    ).toEqual([A.digest]);
  });

  it('a refused pod is neither admitted nor proposed', () => {
    const r = run([pod('mirror', 'package A', { mirror: true })], { 'shop/mirror': approvedBy('ci') });
    expect([r.digests, r.proposed, r.refused.map((x) => x.reason)]).toEqual([[], [], ['mirror-pod']]);
  });
});
