/** Who a vault key belongs to: owner tags, and which version decides the owner of a name. */
export { OwnershipError, type OwnershipErrorKind } from './errors.ts';
export {
  adoptCommand,
  CLUSTER_TAG,
  decidingVersion,
  describeOwner,
  isLegacy,
  isOwner,
  keyOwnerOf,
  OWNER_TAG,
  OWNER_UID_TAG,
  ownerFromTags,
  ownerTags,
  secureKeyName,
  withOwnerTags,
  type KeyOwner,
  type KeyVersionFacts,
  type TaggedOwner,
} from './ownership.ts';
