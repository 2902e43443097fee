import type { SecureKey } from '../../core/api/securekey.generated.ts';
import {
  checkApprovals,
  judgeApprovals,
  type ApprovalClaims,
  type ApprovalVerdict,
  type Approver,
  type ParsedApproval,
} from '../../core/approval/index.ts';
import {
  approvalModeOf,
  podKey,
  podPolicy,
  podRefusal,
  policySchemeOf,
  selectedPods,
  type ObservedPod,
  type PodAdmission,
} from '../../core/workload/index.ts';

/** Verifies one approval's signature with one approver's key (verifySignature, or a cache around it). */
export type VerifyApproval = (
  approval: ParsedApproval,
  approver: Approver,
) => Promise<ApprovalClaims | undefined>;

/**
 * The approval verdict of every selected pod that could lend this SecureKey a digest (passes podRefusal
 * and has one), keyed "namespace/name"; empty under approval Observed. The input desiredDigests needs.
 */
export async function approvalVerdicts(
  secureKey: SecureKey,
  pods: readonly ObservedPod[],
  admission: PodAdmission,
  now: Date,
  verify?: VerifyApproval,
): Promise<Map<string, ApprovalVerdict>> {
  const verdicts = new Map<string, ApprovalVerdict>();
  if (approvalModeOf(secureKey) !== 'Signed') return verdicts;
  const namespace = secureKey.metadata?.namespace ?? '';
  const name = secureKey.metadata?.name ?? '';
  const scheme = policySchemeOf(secureKey);
  const approvers = secureKey.spec.workloads.approvers ?? [];
  for (const pod of selectedPods(secureKey, pods)) {
    if (podRefusal(pod, name, admission) !== undefined) continue;
    const policy = podPolicy(pod, scheme);
    if (!('digest' in policy)) continue;
    const checked = await checkApprovals(pod.approval, approvers, verify);
    verdicts.set(
      podKey(pod),
      judgeApprovals(checked, { namespace, secureKey: name, scheme, digest: policy.digest, now }),
    );
  }
  return verdicts;
}
