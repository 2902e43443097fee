import type { SecureKey } from '../api/securekey.generated.ts';
import { INJECT_LABEL, INJECT_LABEL_VALUE } from '../inject/annotations.ts';
import { selectorMatches } from './label-selector.ts';
import { podKey, type ObservedPod } from './observed-pod.ts';

/** Pods that count: same namespace, opted in, selected, and neither terminating nor finished. */
export function selectedPods(secureKey: SecureKey, pods: readonly ObservedPod[]): ObservedPod[] {
  const namespace = secureKey.metadata?.namespace;
  const selector = secureKey.spec.workloads.podSelector;
  return pods
    .filter(
      (p) =>
        p.namespace === namespace &&
        p.labels[INJECT_LABEL] === INJECT_LABEL_VALUE &&
        !p.deleting &&
        p.phase !== 'Succeeded' &&
        p.phase !== 'Failed' &&
        selectorMatches(selector, p.labels),
    )
    .sort((a, b) => compare(podKey(a), podKey(b)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
