/**
 * The pure core of the operator: from a SecureKey, its pods, its previous status and `now`, decide what
 * the world should look like (digests, release policy, conditions, rotation). No client, no clock, no I/O.
 */
export {
  CONDITION_TYPES,
  findCondition,
  readyFrom,
  REASONS,
  safeMessage,
  setCondition,
} from './conditions.ts';
export type { ConditionInput, Reason } from './conditions.ts';
export { ANNOTATION_PREFIX, INJECT_LABEL, INJECT_LABEL_VALUE, POLICY_ANNOTATION_NAMES } from './constants.ts';
export { desiredDigests } from './desired-digests.ts';
export type { DesiredDigests, DesiredDigestsInput, PodProblem, RefusedPod } from './desired-digests.ts';
export { parseDuration } from './duration.ts';
export { isNodeMode, noPodDigests, nodePolicySummary } from './node-mode.ts';
export { ReconcileError, type ReconcileErrorKind } from './errors.ts';
export {
  DEFAULT_COMPLIANCE_STATUSES,
  NODE_COMPLIANCE_STATUSES,
  planReleasePolicy,
  type ReleasePolicyPlan,
} from './release-policy-plan.ts';
export { MIN_ROTATION_MS, REQUEST_TOLERANCE_MS, rotationDue, type RotationDue } from './rotation.ts';
export { statusChanged } from './status-diff.ts';
export { nextStatus, type NextStatusInput, type StepFailure } from './next-status.ts';
export {
  mustListVersions,
  ownershipRefusal,
  planVaultAction,
  type ObservedKey,
  type VaultAction,
  type VaultActionPlan,
} from './vault-action.ts';
