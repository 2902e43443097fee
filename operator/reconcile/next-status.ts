import type { DigestStatus, SecureKey, SecureKeyStatus } from '../../core/api/securekey.generated.ts';
import { approverProblems } from '../../core/approval/index.ts';
import { approvalModeOf } from '../../core/workload/index.ts';
import {
  CONDITION_TYPES,
  readyFrom,
  REASONS,
  setCondition,
  type ConditionInput,
  type Reason,
} from './conditions.ts';
import type { DesiredDigests } from './desired-digests.ts';
import { isNodeMode, nodePolicySummary } from './node-mode.ts';
import type { ReleasePolicyPlan } from './release-policy-plan.ts';
import type { ObservedKey, VaultAction } from './vault-action.ts';

/** A failed vault step, already classified (reason) and worded without key material (message). */
export interface StepFailure {
  reason: Reason;
  message: string;
}

export interface NextStatusInput {
  secureKey: SecureKey;
  now: Date;
  desired: DesiredDigests;
  plan: ReleasePolicyPlan;
  /** The key as it stands after this reconcile's write (or as read when none was made). */
  key: (ObservedKey & { id: string }) | undefined;
  /** The action planned; `refuse` is reported, others tell whether the policy was written now. */
  action: VaultAction | undefined;
  /** Reading the key failed: nothing is known about key or policy. */
  readFailure?: StepFailure;
  /** The planned write failed. */
  writeFailure?: StepFailure;
  /** The spec cannot be worked with (message names the field); the vault is left as it is. */
  specFailure?: string;
}

const MAX_LISTED_PODS = 5;
/** status.proposals lists at most this many (the CRD's maxItems). */
const MAX_PROPOSALS = 16;

function podsCondition(desired: DesiredDigests): ConditionInput {
  const { problems, refused } = desired;
  if (problems.length + refused.length === 0) {
    return {
      type: CONDITION_TYPES.PodsAdmitted,
      status: 'True',
      reason: REASONS.AllPodsAdmitted,
      message: 'every selected pod has a readable policy digest and may lend it',
    };
  }
  const listed = [...problems, ...refused].slice(0, MAX_LISTED_PODS).map((p) => `${p.pod} (${p.message})`);
  const total = problems.length + refused.length;
  const more = total > MAX_LISTED_PODS ? `; and ${total - MAX_LISTED_PODS} more` : '';
  return {
    type: CONDITION_TYPES.PodsAdmitted,
    status: 'False',
    reason: problems.length > 0 ? REASONS.InvalidPolicyAnnotation : REASONS.PodRefused,
    message: `${total} selected pod(s) cannot lend their policy digest: ${listed.join('; ')}${more}`,
  };
}

function approvalCondition(secureKey: SecureKey, desired: DesiredDigests): ConditionInput {
  const type = CONDITION_TYPES.DigestsApproved;
  if (approvalModeOf(secureKey) === 'Observed') {
    return {
      type,
      status: 'False',
      reason: REASONS.PodCreatorsTrusted,
      message: `approval Observed: the digest of every selected pod is admitted without approval, so anyone who can create pods in namespace ${secureKey.metadata?.namespace ?? ''} can receive this key`,
    };
  }
  const problems = approverProblems(secureKey.spec.workloads.approvers ?? []);
  if (problems.length > 0) {
    return { type, status: 'False', reason: REASONS.InvalidApprovers, message: problems.join('; ') };
  }
  const proposed = desired.proposed;
  if (proposed.length === 0) {
    return {
      type,
      status: 'True',
      reason: REASONS.AllApproved,
      message: 'every admitted pod digest is approved or listed in allowedDigests',
    };
  }
  const listed = proposed
    .slice(0, MAX_LISTED_PODS)
    .map((p) => `${p.digest.slice(0, 12)}… on ${p.pod} (${p.reason})`);
  const more = proposed.length > MAX_LISTED_PODS ? `; and ${proposed.length - MAX_LISTED_PODS} more` : '';
  return {
    type,
    status: 'False',
    reason: REASONS.ApprovalPending,
    message: `${proposed.length} digest(s) on selected pods await approval and are not admitted: ${listed.join('; ')}${more}. Approve with securekey approve, or list them in spec.workloads.allowedDigests`,
  };
}

function keyCondition(input: NextStatusInput): ConditionInput {
  const { key, action } = input;
  const name = input.secureKey.spec.key.name;
  const failure =
    input.readFailure ??
    (action?.type === 'create' || action?.type === 'rotate' ? input.writeFailure : undefined);
  if (failure) return { type: CONDITION_TYPES.KeyReady, status: 'False', ...failure };
  if (action?.type === 'refuse' && action.reason !== 'PolicyInvalid') {
    return {
      type: CONDITION_TYPES.KeyReady,
      status: 'False',
      reason: REASONS[action.reason],
      message: action.message,
    };
  }
  if (key === undefined) {
    return {
      type: CONDITION_TYPES.KeyReady,
      status: 'False',
      reason: action?.type === 'refuse' ? action.reason : REASONS.KeyNotFound,
      message: action?.type === 'refuse' ? action.message : `key ${name} does not exist yet`,
    };
  }
  return {
    type: CONDITION_TYPES.KeyReady,
    status: 'True',
    reason: REASONS.KeyAvailable,
    message: `key ${name} version ${key.version} is an exportable HSM key`,
  };
}

function policyCondition(input: NextStatusInput): ConditionInput {
  const { plan, key, action } = input;
  if (input.specFailure !== undefined) {
    return {
      type: CONDITION_TYPES.PolicySynced,
      status: 'False',
      reason: REASONS.InvalidSpec,
      message: input.specFailure,
    };
  }
  if (!plan.ok) {
    const reason = plan.error.kind === 'policy-too-large' ? REASONS.PolicyTooLarge : REASONS.InvalidSpec;
    return { type: CONDITION_TYPES.PolicySynced, status: 'False', reason, message: plan.error.message };
  }
  if (input.readFailure) {
    return { type: CONDITION_TYPES.PolicySynced, status: 'Unknown', ...input.readFailure };
  }
  if (input.writeFailure)
    return { type: CONDITION_TYPES.PolicySynced, status: 'False', ...input.writeFailure };
  if (key === undefined || action?.type === 'refuse') {
    return {
      type: CONDITION_TYPES.PolicySynced,
      status: 'Unknown',
      reason: REASONS.PolicyPending,
      message: 'the release policy is applied once the key exists',
    };
  }
  const n = input.desired.digests.length;
  return {
    type: CONDITION_TYPES.PolicySynced,
    status: 'True',
    reason: REASONS.PolicySynced,
    message: isNodeMode(input.secureKey)
      ? nodePolicySummary(input.secureKey)
      : `release policy admits ${n} digest${n === 1 ? '' : 's'}`,
  };
}

function wrotePolicy(input: NextStatusInput): boolean {
  const t = input.action?.type;
  return input.writeFailure === undefined && (t === 'create' || t === 'rotate' || t === 'update-policy');
}

/**
 * The status a reconcile leads to. Pure and stable: the same observations give the same status, so an
 * unchanged world leads to no status write (timestamps move only when something happened).
 */
export function nextStatus(input: NextStatusInput): SecureKeyStatus {
  const { secureKey, now, desired, plan, key } = input;
  const old = secureKey.status ?? {};
  const generation = secureKey.metadata?.generation;
  let conditions = old.conditions;
  // Node mode admits no pod digests: PodsAdmitted and DigestsApproved would speak of nothing.
  const node = isNodeMode(secureKey);
  for (const c of [
    keyCondition(input),
    policyCondition(input),
    ...(node ? [] : [podsCondition(desired), approvalCondition(secureKey, desired)]),
  ]) {
    conditions = setCondition(conditions, c, generation, now);
  }
  conditions = setCondition(conditions, readyFrom(conditions), generation, now);

  const status: SecureKeyStatus = { conditions };
  if (generation !== undefined) status.observedGeneration = generation;
  if (key !== undefined) {
    status.key = { id: key.id, version: key.version };
    if (key.createdOn !== undefined)
      status.key.createdAt = key.createdOn.toISOString().replace(/\.\d{3}Z$/, 'Z');
  } else if (old.key !== undefined && input.readFailure !== undefined) {
    status.key = old.key;
  }

  // Digests are what the operator tracks (firstSeen, retention) even while the vault is unreachable,
  // so they are always recorded; hash and syncedAt describe what the vault holds.
  const digests: DigestStatus[] = desired.digests;
  const synced =
    input.specFailure === undefined &&
    plan.ok &&
    key !== undefined &&
    input.readFailure === undefined &&
    input.writeFailure === undefined &&
    input.action?.type !== 'refuse';
  status.policy = node ? {} : { digestCount: digests.length, digests };
  if (desired.proposed.length > 0) {
    status.proposals = desired.proposed
      .slice(0, MAX_PROPOSALS)
      .map(({ digest, pod, since, reason, message }) => ({
        digest,
        pod,
        since,
        reason,
        message,
      }));
  }
  if (!node) status.proposalCount = desired.proposed.length;
  if (synced && plan.ok) {
    status.policy.hash = plan.hash;
    status.policy.syncedAt =
      wrotePolicy(input) || old.policy?.syncedAt === undefined || old.policy.hash !== plan.hash
        ? now.toISOString().replace(/\.\d{3}Z$/, 'Z')
        : old.policy.syncedAt;
  } else if (old.policy?.hash !== undefined) {
    status.policy.hash = old.policy.hash;
    if (old.policy.syncedAt !== undefined) status.policy.syncedAt = old.policy.syncedAt;
  }
  return status;
}
