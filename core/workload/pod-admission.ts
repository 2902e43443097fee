/**
 * Which selected pods may lend their policy digest to a SecureKey. Anyone who may create pods can
 * annotate one with any policy; these checks make such a pod worthless unless it is the kind of pod
 * the digest is for: bound to a node, not a mirror pod, in a confidential runtime class, carrying the
 * agent, asking for this SecureKey, and with the policy annotations it was first observed with.
 * Defence in depth only: a pod that passes is still just a claim (ADR 23).
 */
import type { ObservedPod } from './observed-pod.ts';

/** The runtime classes that run pods in confidential VMs (AKS confidential containers, CoCo on SNP). */
export const CONFIDENTIAL_RUNTIME_CLASSES: readonly string[] = [
  'kata-cc-isolation',
  'kata-cc',
  'kata-qemu-snp',
];

export interface PodAdmission {
  /** spec.runtimeClassName values whose pods count. */
  runtimeClasses: readonly string[];
  /** Pods with no runtime class count too (virtual-node pods on ACI have none; simulators run runc). */
  noRuntimeClass: boolean;
}

export const DEFAULT_POD_ADMISSION: PodAdmission = {
  runtimeClasses: CONFIDENTIAL_RUNTIME_CLASSES,
  noRuntimeClass: false,
};

export type PodRefusalReason =
  'unscheduled' | 'mirror-pod' | 'runtime-class' | 'no-agent' | 'other-securekey' | 'policy-changed';

export interface PodRefusal {
  reason: PodRefusalReason;
  message: string;
}

/** Why `pod` may not lend its digest to the SecureKey named `secureKey`, or undefined when it may. */
export function podRefusal(
  pod: ObservedPod,
  secureKey: string,
  admission: PodAdmission,
): PodRefusal | undefined {
  if (pod.node === undefined) return { reason: 'unscheduled', message: 'the pod is not bound to a node' };
  if (pod.mirror) {
    return { reason: 'mirror-pod', message: 'a mirror pod (static pod) never passed admission' };
  }
  if (
    pod.runtimeClass === undefined
      ? !admission.noRuntimeClass
      : !admission.runtimeClasses.includes(pod.runtimeClass)
  ) {
    const allowed = [...admission.runtimeClasses, ...(admission.noRuntimeClass ? ['none'] : [])];
    return {
      reason: 'runtime-class',
      message: `runtime class ${pod.runtimeClass ?? 'none'} is not one of ${allowed.join(', ') || 'none allowed'}`,
    };
  }
  if (!pod.agent) return { reason: 'no-agent', message: 'the pod does not carry the SecureKey agent' };
  if (!pod.secureKeys.includes(secureKey)) {
    return { reason: 'other-securekey', message: `the pod asks for no key of SecureKey ${secureKey}` };
  }
  if (pod.policyChanged) {
    return {
      reason: 'policy-changed',
      message: 'the pod’s policy annotation changed after the operator first observed it',
    };
  }
  return undefined;
}

/**
 * The policy annotations first observed per pod uid, so a later different set marks the pod
 * policyChanged. A pod's policy is fixed when its sandbox starts; a patched annotation describes
 * nothing that runs. A uid is remembered for `forgetAfterMs` after it was last observed, not dropped
 * when the pod leaves the opt-in watch, so taking the label off, patching and putting it back is
 * caught too. Memory only: after an operator restart the first observation is the current one, so a
 * patch made while the operator was down goes unnoticed (approval signatures close that).
 */
export class FirstPolicies {
  private readonly byUid = new Map<string, { policies: string; lastSeen: number }>();

  private readonly now: () => number;
  private readonly forgetAfterMs: number;

  constructor(now: () => number, forgetAfterMs = 24 * 3_600_000) {
    this.now = now;
    this.forgetAfterMs = forgetAfterMs;
  }

  /** `pod`, marked policyChanged when its policies differ from those first observed for its uid. */
  observe(pod: ObservedPod): ObservedPod {
    if (pod.uid === '') return pod;
    const policies = JSON.stringify(pod.policies);
    const first = this.byUid.get(pod.uid);
    if (first === undefined) {
      this.byUid.set(pod.uid, { policies, lastSeen: this.now() });
      return pod;
    }
    first.lastSeen = this.now();
    return first.policies === policies ? pod : { ...pod, policyChanged: true };
  }

  /** Drops uids not observed for forgetAfterMs (live pods are observed again at every relist). */
  prune(): void {
    const before = this.now() - this.forgetAfterMs;
    for (const [uid, entry] of this.byUid) if (entry.lastSeen < before) this.byUid.delete(uid);
  }

  get size(): number {
    return this.byUid.size;
  }
}
