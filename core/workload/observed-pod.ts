import { APPROVAL_ANNOTATION, MAX_APPROVAL_ANNOTATION_BYTES } from '../approval/index.ts';
import { POLICY_SCHEMES, type PolicyScheme } from '../api/securekey.generated.ts';
import { DigestError, POLICY_ANNOTATIONS, policyDigests, type DigestErrorKind } from '../digest/index.ts';
import { AGENT_CONTAINER, KEY_ANNOTATION_PREFIX } from '../inject/annotations.ts';
import { WorkloadError } from './errors.ts';

/** The kubelet marks the API server's copy of a static pod (one it runs from a file) with this. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** Why a pod's policy annotation yields no digest (the annotation named, the problem in words). */
export interface PolicyProblem {
  annotation: string;
  kind: DigestErrorKind;
  message: string;
}

/** A pod's policy digest under one scheme, or why there is none. */
export type PodPolicy = { digest: string } | { problem: PolicyProblem };

/** The part of a pod the operator keeps: enough to select it and digest its policy, nothing more. */
export interface ObservedPod {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  /**
   * Digests of the policy annotations the pod carries, by scheme, computed once when the pod is seen.
   * Policies run to tens of KiB each; keeping digests instead is what lets the operator hold 10,000 pods.
   */
  policies: Partial<Record<PolicyScheme, PodPolicy>>;
  /** metadata.deletionTimestamp is set: the pod is going away. */
  deleting: boolean;
  /** status.phase (Pending, Running, Succeeded, Failed, Unknown), when known. */
  phase: string | undefined;
  /** spec.nodeName, set once the scheduler (or whoever created the pod) bound it to a node. */
  node: string | undefined;
  /** A mirror pod: the kubelet's record of a static pod, which no admission webhook ever saw. */
  mirror: boolean;
  /** spec.runtimeClassName, when set. */
  runtimeClass: string | undefined;
  /** An init container or container named as the injector names the agent. */
  agent: boolean;
  /** SecureKeys the pod names in its securekey.io/key-<alias> annotations, sorted, no repeats. */
  secureKeys: string[];
  /**
   * The pod's policy annotations differ from the first ones the operator observed for its uid (set by
   * FirstPolicies, not by trimPod): an annotation patched on a running pod measures nothing it runs.
   */
  policyChanged: boolean;
  /**
   * The securekey.io/approval annotation as carried (ADR 24), cut just past the length parseApprovals
   * accepts so an oversized one still fails as too long without being kept whole.
   */
  approval: string | undefined;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown, keep: (key: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(record(v))) {
    if (typeof value === 'string' && keep(k)) out[k] = value;
  }
  return out;
}

function digestOf(scheme: PolicyScheme, annotations: Readonly<Record<string, string>>): PodPolicy {
  try {
    // Memoized: a pod is trimmed again on every status change and relist (core/digest/memo.ts).
    return { digest: policyDigests.digest(scheme, annotations).digest };
  } catch (err) {
    if (!(err instanceof DigestError)) throw err;
    return { problem: { annotation: err.annotation, kind: err.kind, message: err.message } };
  }
}

/** The pod's policy under `scheme`; a pod without that scheme's annotation gets annotation-missing. */
export function podPolicy(pod: ObservedPod, scheme: PolicyScheme): PodPolicy {
  return pod.policies[scheme] ?? digestOf(scheme, {});
}

const POLICY_NAMES = new Set(Object.values(POLICY_ANNOTATIONS));

function policiesOf(annotations: Record<string, string>): Partial<Record<PolicyScheme, PodPolicy>> {
  const out: Partial<Record<PolicyScheme, PodPolicy>> = {};
  for (const scheme of POLICY_SCHEMES) {
    if (annotations[POLICY_ANNOTATIONS[scheme]] !== undefined) out[scheme] = digestOf(scheme, annotations);
  }
  return out;
}

/** Trims any pod object (API JSON or a client's V1Pod) to an ObservedPod. */
export function trimPod(pod: unknown): ObservedPod {
  const meta = record(record(pod).metadata);
  const { namespace, name, uid, deletionTimestamp } = meta;
  if (typeof namespace !== 'string' || namespace === '' || typeof name !== 'string' || name === '') {
    throw new WorkloadError('bad-pod', 'pod object has no metadata.namespace and metadata.name');
  }
  const phase = record(record(pod).status).phase;
  const spec = record(record(pod).spec);
  const annotations = strings(meta.annotations, () => true);
  const containers = [spec.initContainers, spec.containers].flatMap((l) => (Array.isArray(l) ? l : []));
  const secureKeys = Object.entries(annotations)
    .filter(([k]) => k.startsWith(KEY_ANNOTATION_PREFIX))
    .map(([, v]) => v.trim());
  return {
    namespace,
    name,
    uid: typeof uid === 'string' ? uid : '',
    labels: strings(meta.labels, () => true),
    policies: policiesOf(strings(annotations, (k) => POLICY_NAMES.has(k))),
    deleting: deletionTimestamp !== undefined && deletionTimestamp !== null,
    phase: typeof phase === 'string' ? phase : undefined,
    node: typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined,
    mirror: annotations[MIRROR_POD_ANNOTATION] !== undefined,
    runtimeClass:
      typeof spec.runtimeClassName === 'string' && spec.runtimeClassName !== ''
        ? spec.runtimeClassName
        : undefined,
    agent: containers.some((c) => record(c).name === AGENT_CONTAINER),
    secureKeys: [...new Set(secureKeys)].sort(),
    policyChanged: false,
    approval: approvalOf(annotations[APPROVAL_ANNOTATION]),
  };
}

function approvalOf(value: string | undefined): string | undefined {
  return value === undefined || value.length <= MAX_APPROVAL_ANNOTATION_BYTES
    ? value
    : value.slice(0, MAX_APPROVAL_ANNOTATION_BYTES + 1);
}

/** "namespace/name", the way status and events name a pod. */
export function podKey(pod: Pick<ObservedPod, 'namespace' | 'name'>): string {
  return `${pod.namespace}/${pod.name}`;
}
