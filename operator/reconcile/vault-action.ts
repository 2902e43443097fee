import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { samePolicy, type ReleasePolicy } from '../../core/policy/index.ts';
import type { ReleasePolicyPlan } from './release-policy-plan.ts';
import { rotationDue } from './rotation.ts';

/** What the vault holds for a SecureKey's key: its current version. */
export interface ObservedKey {
  version: string;
  createdOn: Date | undefined;
  exportable: boolean;
  policy: ReleasePolicy | undefined;
  /** The `securekey.io/owner` tag: `<namespace>/<name>` of the SecureKey that created it. */
  owner: string | undefined;
}

/** Key tag naming the SecureKey that created a key; the operator writes only keys whose tag names the SecureKey. */
export const OWNER_TAG = 'securekey.io/owner';

export function ownerOf(secureKey: SecureKey): string {
  return `${secureKey.metadata?.namespace ?? ''}/${secureKey.metadata?.name ?? ''}`;
}

export type VaultAction =
  /** No key by that name: create it with the policy. */
  | { type: 'create' }
  /** spec.rotation says the current version is old enough: a new version, with the policy. */
  | { type: 'rotate' }
  /** The current version's policy differs from the desired one. */
  | { type: 'update-policy' }
  | { type: 'none' }
  /** Nothing can be done until the user acts (reason is a condition reason). */
  | { type: 'refuse'; reason: 'KeyNotExportable' | 'PolicyInvalid' | 'KeyOwnedElsewhere'; message: string };

export interface VaultActionPlan {
  action: VaultAction;
  /** When the current version is due for rotation; requeue then. */
  rotateAt?: Date;
}

/**
 * The one vault write (or none) a reconcile makes. Rotation is timed from the vault's own creation time,
 * not from status, so an operator that crashed after creating a version does not create another.
 */
export function planVaultAction(
  secureKey: SecureKey,
  key: ObservedKey | undefined,
  plan: ReleasePolicyPlan,
  now: Date,
): VaultActionPlan {
  const name = secureKey.spec.key.name;
  if (key === undefined) {
    if (!plan.ok) {
      return {
        action: {
          type: 'refuse',
          reason: 'PolicyInvalid',
          message: `key ${name} not created: ${plan.error.message}`,
        },
      };
    }
    return { action: { type: 'create' } };
  }
  // A key another SecureKey made (or one made outside SecureKey) is never rewritten: otherwise a
  // SecureKey in any namespace could point its own pods at another namespace's key.
  if (key.owner !== ownerOf(secureKey)) {
    return {
      action: {
        type: 'refuse',
        reason: 'KeyOwnedElsewhere',
        message:
          key.owner === undefined
            ? `key ${name} exists in the vault but was not created by a SecureKey; to hand it to this one, tag it ${OWNER_TAG}=${ownerOf(secureKey)} in the vault`
            : `key ${name} exists in the vault and belongs to SecureKey ${key.owner}; choose another spec.key.name`,
      },
    };
  }
  if (!key.exportable) {
    return {
      action: {
        type: 'refuse',
        reason: 'KeyNotExportable',
        message: `key ${name} exists in the vault but is not exportable, so it can never be released; delete it or choose another spec.key.name`,
      },
    };
  }
  const rotation = rotationDue(secureKey.spec.rotation, key.createdOn, now);
  const at = rotation.at === undefined ? {} : { rotateAt: rotation.at };
  if (!plan.ok) return { action: { type: 'none' }, ...at };
  if (rotation.due) return { action: { type: 'rotate' } };
  if (!samePolicy(plan.policy, key.policy)) return { action: { type: 'update-policy' }, ...at };
  return { action: { type: 'none' }, ...at };
}
