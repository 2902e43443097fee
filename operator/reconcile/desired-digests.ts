import { SCHEMA_DEFAULTS, type DigestStatus, type SecureKey } from '../../core/api/securekey.generated.ts';
import type { DigestErrorKind } from '../../core/digest/index.ts';
import { parseDuration } from './duration.ts';
import { selectedPods } from '../../core/workload/selection.ts';
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

export interface DesiredDigests {
  /** Admitted digests, sorted by digest. */
  digests: DigestStatus[];
  /** Sorted by pod, then annotation. */
  problems: PodProblem[];
  /** Sorted by pod. */
  refused: RefusedPod[];
  /** The earliest moment a retained digest expires; requeue then. */
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
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The digests a SecureKey admits now: those of its selected pods that pass podRefusal ∪ spec.workloads.allowedDigests ∪
 * digests seen on pods within the last digestRetention (so rolling updates never strand a pod).
 * Deterministic: the same inputs in any order give the same result.
 */
export function desiredDigests(input: DesiredDigestsInput): DesiredDigests {
  const { secureKey, previous, now } = input;
  const spec = secureKey.spec;
  const scheme = spec.workloads.policyScheme ?? SCHEMA_DEFAULTS['spec.workloads.policyScheme'];
  const retentionMs = parseDuration(
    spec.digestRetention ?? SCHEMA_DEFAULTS['spec.digestRetention'],
    'spec.digestRetention',
  );
  const nowIso = now.toISOString();
  const before = new Map((previous ?? []).map((d) => [d.digest, d]));

  // Pods are sorted, so the first pod seen for a digest is the lexicographically first.
  const onPods = new Map<string, string>();
  const problems: PodProblem[] = [];
  const refused: RefusedPod[] = [];
  for (const pod of selectedPods(secureKey, input.pods)) {
    const refusal = podRefusal(pod, secureKey.metadata?.name ?? '', input.admission);
    if (refusal !== undefined) {
      refused.push({ pod: podKey(pod), ...refusal });
      continue;
    }
    const policy = podPolicy(pod, scheme);
    if ('digest' in policy) {
      if (!onPods.has(policy.digest)) onPods.set(policy.digest, podKey(pod));
    } else {
      problems.push({ pod: podKey(pod), ...policy.problem });
    }
  }

  const result = new Map<string, DigestStatus>();
  const firstSeen = (digest: string): string => before.get(digest)?.firstSeen ?? nowIso;

  // A digest carried by a pod has no lastSeen: it is stamped once, when the last pod carrying it goes,
  // so a steady state writes nothing (and an operator that was down stamps late, never early).
  for (const [digest, pod] of onPods) {
    result.set(digest, { digest, source: 'Pod', pod, firstSeen: firstSeen(digest) });
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

  let nextExpiry: number | undefined;
  for (const old of before.values()) {
    // Never seen on a pod (a static digest since removed from the spec): it leaves at once.
    if (result.has(old.digest) || (old.lastSeen === undefined && old.pod === undefined)) continue;
    // Carried until now (no lastSeen yet) or an unreadable lastSeen: retention starts now, never earlier.
    const readable = old.lastSeen !== undefined && !Number.isNaN(Date.parse(old.lastSeen));
    const lastSeen = readable ? Date.parse(old.lastSeen as string) : now.getTime();
    const expiry = lastSeen + retentionMs;
    if (now.getTime() >= expiry) continue;
    const kept: DigestStatus = {
      digest: old.digest,
      source: 'Pod',
      firstSeen: old.firstSeen,
      lastSeen: readable ? (old.lastSeen as string) : nowIso,
    };
    if (old.pod !== undefined) kept.pod = old.pod;
    result.set(old.digest, kept);
    nextExpiry = nextExpiry === undefined ? expiry : Math.min(nextExpiry, expiry);
  }

  const out: DesiredDigests = {
    digests: [...result.values()].sort((a, b) => compare(a.digest, b.digest)),
    problems: problems.sort((a, b) => compare(a.pod, b.pod) || compare(a.annotation, b.annotation)),
    refused,
  };
  if (nextExpiry !== undefined) out.nextExpiry = new Date(nextExpiry);
  return out;
}
