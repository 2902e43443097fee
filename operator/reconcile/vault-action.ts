import type { SecureKey } from '../../core/api/securekey.generated.ts';
import {
  adoptCommand,
  decidingVersion,
  describeOwner,
  isLegacy,
  isOwner,
  OWNER_TAG,
  type KeyOwner,
  type KeyVersionFacts,
  type TaggedOwner,
} from '../../core/ownership/index.ts';
import { samePolicy, type ReleasePolicy } from '../../core/policy/index.ts';
import { findCondition } from './conditions.ts';
import type { ReleasePolicyPlan } from './release-policy-plan.ts';
import { rotationDue } from './rotation.ts';

/** What the vault holds for a SecureKey's key: its current version. */
export interface ObservedKey {
  version: string;
  createdOn: Date | undefined;
  exportable: boolean;
  policy: ReleasePolicy | undefined;
  /** What the current version's owner tags say. */
  owner: TaggedOwner | undefined;
  /** Every version's ownership facts, when the reconcile listed them (mustListVersions). */
  versions?: readonly KeyVersionFacts[];
}

export type VaultAction =
  /** No key by that name: create it with the policy. */
  | { type: 'create' }
  /**
   * A new version, with the policy: spec.rotation says the current version is old enough, or (`reclaim`
   * says why) the current version is another SecureKey's, left on top of this one's name by a lost race.
   */
  | { type: 'rotate'; reclaim?: string }
  /** The current version's policy differs from the desired one. */
  | { type: 'update-policy' }
  | { type: 'none' }
  /**
   * Nothing can be done until the user acts (reason is a condition reason). `disable` lists this
   * SecureKey's own enabled versions of a name it lost: they are disabled so none of them is released.
   */
  | {
      type: 'refuse';
      reason: 'KeyNotExportable' | 'PolicyInvalid' | 'KeyOwnedElsewhere' | 'KeyConflict';
      message: string;
      disable?: string[];
    };

export interface VaultActionPlan {
  action: VaultAction;
  /** When the current version is due for rotation; requeue then. */
  rotateAt?: Date;
}

/**
 * Whether the reconcile must list the key's versions to know who owns the name: always, unless the
 * current version is tagged for this SecureKey and status already records it as this SecureKey's ready
 * key (a listing made it so, and a version made since would be the current one).
 */
export function mustListVersions(sk: SecureKey, key: ObservedKey, owner: KeyOwner): boolean {
  if (!isOwner(key.owner, owner)) return true;
  const status = sk.status;
  return !(
    status?.key?.version === key.version && findCondition(status.conditions, 'KeyReady')?.status === 'True'
  );
}

function refuse(
  reason: 'KeyOwnedElsewhere' | 'KeyConflict',
  message: string,
  disable?: string[],
): VaultActionPlan {
  return {
    action: {
      type: 'refuse',
      reason,
      message,
      ...(disable === undefined || disable.length === 0 ? {} : { disable }),
    },
  };
}

/** Why a name this SecureKey does not own is refused, and what the user can do. */
function notOurs(name: string, deciding: TaggedOwner | undefined, owner: KeyOwner): VaultActionPlan {
  const adopt = `if it is meant for this SecureKey, a person with rights to update keys in the vault runs \`${adoptCommand(owner.secureKey)}\``;
  if (deciding === undefined) {
    return refuse(
      'KeyOwnedElsewhere',
      `key ${name} exists in the vault but was not created by a SecureKey; ${adopt}`,
    );
  }
  if (deciding.secureKey === owner.secureKey) {
    const why = isLegacy(deciding)
      ? `is tagged ${OWNER_TAG}=${deciding.secureKey} without a uid or cluster (an older operator), so it may be an earlier SecureKey's of this name or another cluster's`
      : `belongs to an earlier SecureKey of this name or one in another cluster (uid ${deciding.uid}, cluster ${deciding.cluster}; this one is uid ${owner.uid} in cluster ${owner.cluster})`;
    return refuse('KeyOwnedElsewhere', `key ${name} ${why}; it is not taken over automatically: ${adopt}`);
  }
  return refuse(
    'KeyOwnedElsewhere',
    `key ${name} exists in the vault and belongs to ${describeOwner(deciding)}; choose another spec.key.name`,
  );
}

/**
 * The refusal when the key's name is not this SecureKey's; undefined when it is. A key another SecureKey
 * made (or one made outside SecureKey) is never rewritten: otherwise a SecureKey in any namespace could
 * point its own pods at another namespace's key. The name's owner is decided by its earliest tagged
 * version, so of two racing creates the one whose version came later loses, and disables its versions.
 */
export function ownershipRefusal(
  secureKey: SecureKey,
  key: ObservedKey,
  owner: KeyOwner,
): VaultActionPlan | undefined {
  const name = secureKey.spec.key.name;
  const deciding = key.versions === undefined ? key.owner : decidingVersion(key.versions)?.owner;
  if (isOwner(deciding, owner)) return undefined;
  const mine = (key.versions ?? []).filter((v) => isOwner(v.owner, owner));
  if (mine.length > 0) {
    const versions = `version${mine.length === 1 ? '' : 's'} ${mine.map((v) => v.version).join(', ')} ${mine.length === 1 ? 'is' : 'are'}`;
    return refuse(
      'KeyConflict',
      `key ${name} was created at the same time for ${describeOwner(deciding)}, whose version is earlier, so the name is theirs; this SecureKey's ${versions} disabled; choose another spec.key.name`,
      mine.filter((v) => v.enabled).map((v) => v.version),
    );
  }
  return notOurs(name, deciding, owner);
}

/**
 * The one vault write (or none) a reconcile makes. Rotation is timed from the vault's own creation time,
 * not from status, so an operator that crashed after creating a version does not create another.
 * `owner` is this SecureKey's identity in this cluster (core/ownership).
 */
export function planVaultAction(
  secureKey: SecureKey,
  key: ObservedKey | undefined,
  plan: ReleasePolicyPlan,
  now: Date,
  owner: KeyOwner,
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
  const refusal = ownershipRefusal(secureKey, key, owner);
  if (refusal !== undefined) return refusal;
  if (!isOwner(key.owner, owner)) {
    if (key.owner === undefined) {
      return refuse(
        'KeyOwnedElsewhere',
        `key ${name} is this SecureKey's, but its current version ${key.version} carries no owner tags (made outside SecureKey); tag it with \`${adoptCommand(owner.secureKey)}\` or disable it`,
      );
    }
    if (!plan.ok) return { action: { type: 'none' } };
    return {
      action: {
        type: 'rotate',
        reclaim: `the current version ${key.version} was made for ${describeOwner(key.owner)}, which lost the race for this name`,
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
