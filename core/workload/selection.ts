import { SCHEMA_DEFAULTS, type PolicyScheme, type SecureKey } from '../api/securekey.generated.ts';
import { INJECT_LABEL, INJECT_LABEL_VALUE } from '../inject/annotations.ts';
import { selectorMatches } from './label-selector.ts';
import { podKey, type ObservedPod } from './observed-pod.ts';

/** Why a SecureKey does not select a pod, in words; undefined when it does. */
export function notSelectedBecause(secureKey: SecureKey, pod: ObservedPod): string | undefined {
  const namespace = secureKey.metadata?.namespace;
  if (pod.namespace !== namespace)
    return `the pod is in namespace ${pod.namespace}, the SecureKey in ${namespace}`;
  if (pod.labels[INJECT_LABEL] !== INJECT_LABEL_VALUE) {
    return `the pod lacks the label ${INJECT_LABEL}=${INJECT_LABEL_VALUE}`;
  }
  if (pod.deleting) return 'the pod is being deleted';
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return `the pod has finished (${pod.phase})`;
  if (!selectorMatches(secureKey.spec.workloads.podSelector, pod.labels)) {
    return 'the pod’s labels do not match spec.workloads.podSelector';
  }
  return undefined;
}

/** Pods that count: same namespace, opted in, selected, and neither terminating nor finished. */
export function selectedPods(secureKey: SecureKey, pods: readonly ObservedPod[]): ObservedPod[] {
  return pods
    .filter((p) => notSelectedBecause(secureKey, p) === undefined)
    .sort((a, b) => compare(podKey(a), podKey(b)));
}

/** The policy scheme a SecureKey reads digests under. */
export function policySchemeOf(secureKey: SecureKey): PolicyScheme {
  return secureKey.spec.workloads.policyScheme ?? SCHEMA_DEFAULTS['spec.workloads.policyScheme'];
}

/** Signed: only approved digests count. Observed: every selected pod's digest counts (ADR 24). */
export type ApprovalMode = 'Signed' | 'Observed';

export function approvalModeOf(secureKey: SecureKey): ApprovalMode {
  return secureKey.spec.workloads.approval ?? SCHEMA_DEFAULTS['spec.workloads.approval'];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
