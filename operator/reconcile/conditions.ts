import type { Condition, ConditionStatus } from '../../core/api/securekey.generated.ts';

/** Condition types of a SecureKey. Ready is derived from the other two. */
export const CONDITION_TYPES = {
  Ready: 'Ready',
  KeyReady: 'KeyReady',
  PolicySynced: 'PolicySynced',
  /** Every selected pod's policy yields a digest; False names the pods whose do not. */
  PodsAdmitted: 'PodsAdmitted',
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
const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;
/**
 * Long mixed-case base64/base64url runs look like key bytes ('/' included, so standard base64 is not
 * let through in slices); digests, key versions and key paths are lowercase.
 */
const KEY_LIKE = /[A-Za-z0-9+/_-]{40,}={0,2}/g;

/**
 * Mixed case marks key bytes. A run with '/' may also be a path (an Azure resource id is mostly lower
 * case with a few capitals), so it must look random: at least a quarter upper and a quarter lower case.
 */
function keyLike(run: string): boolean {
  const upper = (run.match(/[A-Z]/g) ?? []).length;
  const lower = (run.match(/[a-z]/g) ?? []).length;
  if (upper === 0 || lower === 0) return false;
  return !run.includes('/') || (upper >= run.length / 4 && lower >= run.length / 4);
}

/**
 * Last line of defence: messages come from errors that already omit key material, but a condition is
 * readable by anyone who can read the SecureKey, so PEM blocks and key-like runs are redacted anyway.
 */
export function safeMessage(message: string): string {
  const redacted = message
    .replace(PEM_BLOCK, '[redacted]')
    .replace(KEY_LIKE, (run) => (keyLike(run) ? '[redacted]' : run));
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
