import {
  SCHEMA_DEFAULTS,
  type DigestStatus,
  type SecureKey,
  type StatusProposalsItem,
} from '../../core/api/securekey.generated.ts';
import type { ApprovalRefusalReason, ApprovalVerdict } from '../../core/approval/index.ts';
import type { DigestErrorKind } from '../../core/digest/index.ts';
import { parseDuration } from './duration.ts';
import { approvalModeOf, policySchemeOf, selectedPods } from '../../core/workload/selection.ts';
import { podKey, podPolicy, type ObservedPod } from '../../core/workload/observed-pod.ts';
import { podRefusal, type PodAdmission, type PodRefusalReason } from '../../core/workload/pod-admission.ts';

/** A selected pod whose policy annotation yields no digest; the edge turns it into an event and condition. */
export interface PodProblem {
  /** "namespace/name" */
  pod: string;
  annotation: string;
  message: string;
  kind: DigestErrorKind;
}

/** A selected pod whose digest does not count (pod-admission.ts says why). */
export interface RefusedPod {
  /** "namespace/name" */
  pod: string;
  reason: PodRefusalReason;
  message: string;
}

/** A digest on a selected pod that no approver signed (approval Signed): not admitted. */
export interface ProposedDigest {
  digest: string;
  /** "namespace/name" of the first pod carrying it. */
  pod: string;
  /** When it was first proposed (kept across reconciles through status.proposals). */
  since: string;
  reason: ApprovalRefusalReason;
  message: string;
}

export interface DesiredDigests {
  /** Admitted digests, sorted by digest. */
  digests: DigestStatus[];
  /** Unapproved digests of selected pods, sorted by digest (empty under approval Observed). */
  proposed: ProposedDigest[];
  /** Sorted by pod, then annotation. */
  problems: PodProblem[];
  /** Sorted by pod. */
  refused: RefusedPod[];
  /** The earliest moment a retained digest or an approval expires; requeue then. */
  nextExpiry?: Date;
}

export interface DesiredDigestsInput {
  secureKey: SecureKey;
  pods: readonly ObservedPod[];
  /** status.policy.digests as last written, so firstSeen and retention survive restarts. */
  previous: readonly DigestStatus[] | undefined;
  now: Date;
  /** Which selected pods may lend their digest (runtime classes and the like). */
  admission: PodAdmission;
  /**
   * Under approval Signed, the approval verdict of each selected pod ("namespace/name") for this
   * SecureKey (approvals.ts); a pod without one is unapproved.
   */
  approvals?: ReadonlyMap<string, ApprovalVerdict>;
  /** status.proposals as last written, so `since` survives restarts. */
  previousProposals?: readonly StatusProposalsItem[];
}

const NO_APPROVAL: ApprovalVerdict = {
  approved: false,
  reason: 'no-approval',
  message: 'the pod carries no securekey.io/approval',
};

function outlasts(a: { expiresAt?: Date }, b: { expiresAt?: Date }): boolean {
  if (b.expiresAt === undefined) return false;
  return a.expiresAt === undefined || a.expiresAt > b.expiresAt;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The digests a SecureKey admits now: those of its selected pods that pass podRefusal (under approval
 * Signed, only those a valid approval vouches for; the rest are proposed) ∪ spec.workloads.allowedDigests ∪
 * digests admitted on pods within the last digestRetention (so rolling updates never strand a pod), none
 * past its approval's expiry.
 * Deterministic: the same inputs in any order give the same result.
 */
export function desiredDigests(input: DesiredDigestsInput): DesiredDigests {
  const { secureKey, previous, now } = input;
  const spec = secureKey.spec;
  const scheme = policySchemeOf(secureKey);
  const retentionMs = parseDuration(
    spec.digestRetention ?? SCHEMA_DEFAULTS['spec.digestRetention'],
    'spec.digestRetention',
  );
  const nowIso = now.toISOString();
  const before = new Map((previous ?? []).map((d) => [d.digest, d]));

  const signed = approvalModeOf(secureKey) === 'Signed';
  const static_ = new Set(spec.workloads.allowedDigests ?? []);
  // Pods are sorted, so the first pod seen for a digest is the lexicographically first.
  const onPods = new Map<string, { pod: string; approval?: Extract<ApprovalVerdict, { approved: true }> }>();
  const unapproved = new Map<string, { pod: string; reason: ApprovalRefusalReason; message: string }>();
  const problems: PodProblem[] = [];
  const refused: RefusedPod[] = [];
  for (const pod of selectedPods(secureKey, input.pods)) {
    const refusal = podRefusal(pod, secureKey.metadata?.name ?? '', input.admission);
    if (refusal !== undefined) {
      refused.push({ pod: podKey(pod), ...refusal });
      continue;
    }
    const policy = podPolicy(pod, scheme);
    if (!('digest' in policy)) {
      problems.push({ pod: podKey(pod), ...policy.problem });
      continue;
    }
    const digest = policy.digest;
    if (!signed || static_.has(digest)) {
      if (!onPods.has(digest)) onPods.set(digest, { pod: podKey(pod) });
      continue;
    }
    const verdict = input.approvals?.get(podKey(pod)) ?? NO_APPROVAL;
    if (!verdict.approved) {
      if (!unapproved.has(digest)) {
        unapproved.set(digest, { pod: podKey(pod), reason: verdict.reason, message: verdict.message });
      }
      continue;
    }
    // Of several pods approved for one digest, the approval that lasts longest speaks for it.
    const seen = onPods.get(digest);
    if (seen?.approval === undefined || outlasts(verdict, seen.approval)) {
      onPods.set(digest, { pod: seen?.pod ?? podKey(pod), approval: verdict });
    }
  }

  const result = new Map<string, DigestStatus>();
  const firstSeen = (digest: string): string => before.get(digest)?.firstSeen ?? nowIso;
  let nextExpiry: number | undefined;
  const expiresAt = (ms: number): void => {
    nextExpiry = nextExpiry === undefined ? ms : Math.min(nextExpiry, ms);
  };

  // A digest carried by a pod has no lastSeen: it is stamped once, when the last pod carrying it goes,
  // so a steady state writes nothing (and an operator that was down stamps late, never early).
  for (const [digest, { pod, approval }] of onPods) {
    const entry: DigestStatus = { digest, source: 'Pod', pod, firstSeen: firstSeen(digest) };
    if (approval !== undefined) {
      entry.approvedBy = approval.approver;
      if (approval.expiresAt !== undefined) {
        entry.approvalExpires = approval.expiresAt.toISOString();
        expiresAt(approval.expiresAt.getTime());
      }
    }
    result.set(digest, entry);
  }
  for (const digest of spec.workloads.allowedDigests ?? []) {
    // Static wins the source, but a pod sighting (now or earlier) is kept so retention still
    // applies if the digest is later removed from allowedDigests while pods run with it.
    const carried = result.get(digest);
    const old = before.get(digest);
    const entry: DigestStatus = { digest, source: 'Static', firstSeen: firstSeen(digest) };
    if (carried?.pod !== undefined) entry.pod = carried.pod;
    else if (old?.pod !== undefined) {
      entry.pod = old.pod;
      entry.lastSeen = old.lastSeen ?? nowIso;
    }
    result.set(digest, entry);
  }

  for (const old of before.values()) {
    // Never seen on a pod (a static digest since removed from the spec): it leaves at once.
    if (result.has(old.digest) || (old.lastSeen === undefined && old.pod === undefined)) continue;
    // Under approval Signed only an approved digest is retained: one admitted while the SecureKey
    // trusted observed pods (or by an older operator) leaves when its pods go.
    if (signed && old.approvedBy === undefined) continue;
    // Carried until now (no lastSeen yet) or an unreadable lastSeen: retention starts now, never earlier.
    const readable = old.lastSeen !== undefined && !Number.isNaN(Date.parse(old.lastSeen));
    const lastSeen = readable ? Date.parse(old.lastSeen as string) : now.getTime();
    // An approval's end ends the digest's admission, retention or not (ADR 24).
    const approvalEnd = old.approvalExpires === undefined ? NaN : Date.parse(old.approvalExpires);
    const expiry = Math.min(lastSeen + retentionMs, Number.isNaN(approvalEnd) ? Infinity : approvalEnd);
    if (now.getTime() >= expiry) continue;
    const kept: DigestStatus = {
      digest: old.digest,
      source: 'Pod',
      firstSeen: old.firstSeen,
      lastSeen: readable ? (old.lastSeen as string) : nowIso,
    };
    if (old.pod !== undefined) kept.pod = old.pod;
    if (old.approvedBy !== undefined) kept.approvedBy = old.approvedBy;
    if (old.approvalExpires !== undefined) kept.approvalExpires = old.approvalExpires;
    result.set(old.digest, kept);
    expiresAt(expiry);
  }

  const sinceBefore = new Map((input.previousProposals ?? []).map((p) => [p.digest, p.since]));
  const proposed: ProposedDigest[] = [...unapproved]
    .filter(([digest]) => !result.has(digest))
    .map(([digest, u]) => ({ digest, since: sinceBefore.get(digest) ?? nowIso, ...u }))
    .sort((a, b) => compare(a.digest, b.digest));

  const out: DesiredDigests = {
    digests: [...result.values()].sort((a, b) => compare(a.digest, b.digest)),
    proposed,
    problems: problems.sort((a, b) => compare(a.pod, b.pod) || compare(a.annotation, b.annotation)),
    refused,
  };
  if (nextExpiry !== undefined) out.nextExpiry = new Date(nextExpiry);
  return out;
}
