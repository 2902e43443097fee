import type { Condition, ConditionStatus } from '../../core/api/securekey.generated.ts';
import { redactKeyMaterial } from '../../core/redact.ts';

/** Condition types of a SecureKey. Ready is derived from the other two. */
export const CONDITION_TYPES = {
  Ready: 'Ready',
  KeyReady: 'KeyReady',
  PolicySynced: 'PolicySynced',
  /** Every selected pod's policy yields a digest and the pod may lend it; False names the pods that do not. */
  PodsAdmitted: 'PodsAdmitted',
  /** Every digest on a selected pod is approved (approval Signed); False lists the proposed ones or says Observed. */
  DigestsApproved: 'DigestsApproved',
} as const;

/** Reasons (CamelCase, as metav1.Condition requires), one place for every reconcile concern. */
export const REASONS = {
  Ready: 'Ready',
  KeyCreated: 'KeyCreated',
  KeyFound: 'KeyFound',
  KeyRotated: 'KeyRotated',
  KeyNotFound: 'KeyNotFound',
  KeyAvailable: 'KeyAvailable',
  KeyNotExportable: 'KeyNotExportable',
  KeyOwnedElsewhere: 'KeyOwnedElsewhere',
  KeyConflict: 'KeyConflict',
  VaultRejected: 'VaultRejected',
  PolicyInvalid: 'PolicyInvalid',
  AllPodsAdmitted: 'AllPodsAdmitted',
  VaultUnavailable: 'VaultUnavailable',
  VaultForbidden: 'VaultForbidden',
  Throttled: 'Throttled',
  PolicySynced: 'PolicySynced',
  PolicyPending: 'PolicyPending',
  InvalidPolicyAnnotation: 'InvalidPolicyAnnotation',
  InvalidSpec: 'InvalidSpec',
  PolicyTooLarge: 'PolicyTooLarge',
  Deleting: 'Deleting',
  PodRefused: 'PodRefused',
  DigestProposed: 'DigestProposed',
  AllApproved: 'AllApproved',
  ApprovalPending: 'ApprovalPending',
  PodCreatorsTrusted: 'PodCreatorsTrusted',
  InvalidApprovers: 'InvalidApprovers',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** metav1.Condition caps message at 32768 characters. */
const MAX_MESSAGE = 32768;

/**
 * A condition is readable by anyone who can read the SecureKey: its message has key material redacted
 * (messages come from errors that already omit it; this is the last line of defence) and is capped.
 */
export function safeMessage(message: string): string {
  const redacted = redactKeyMaterial(message);
  return redacted.length > MAX_MESSAGE ? `${redacted.slice(0, MAX_MESSAGE - 1)}…` : redacted;
}

/**
 * Conditions with `next` set (KEP-1623): lastTransitionTime moves only when the status flips;
 * reason, message and observedGeneration always follow. Returns a new array; order is kept and a new
 * type is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const condition: Condition = {
    type: next.type,
    status: next.status,
    lastTransitionTime:
      old !== undefined && old.status === next.status ? old.lastTransitionTime : now.toISOString(),
    reason: next.reason,
    message: safeMessage(next.message),
  };
  if (generation !== undefined) condition.observedGeneration = generation;
  if (i >= 0) list[i] = condition;
  else list.push(condition);
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Ready from KeyReady and PolicySynced: True only when both are True; False (with the first failing
 * condition's reason and message) when either is False; Unknown otherwise.
 */
export function readyFrom(conditions: readonly Condition[] | undefined): ConditionInput {
  const parts = [CONDITION_TYPES.KeyReady, CONDITION_TYPES.PolicySynced].map((type) => ({
    type,
    c: findCondition(conditions, type),
  }));
  const failed = parts.find((p) => p.c?.status === 'False');
  if (failed?.c) {
    return {
      type: CONDITION_TYPES.Ready,
      status: 'False',
      reason: failed.c.reason,
      message: failed.c.message,
    };
  }
  const unknown = parts.find((p) => p.c?.status !== 'True');
  if (unknown) {
    return {
      type: CONDITION_TYPES.Ready,
      status: 'Unknown',
      reason: unknown.c?.reason ?? REASONS.PolicyPending,
      message: unknown.c?.message ?? `${unknown.type} not yet reported`,
    };
  }
  return {
    type: CONDITION_TYPES.Ready,
    status: 'True',
    reason: REASONS.Ready,
    message: 'key exists and its release policy is synced',
  };
}
