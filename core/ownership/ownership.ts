/**
 * Who a vault key belongs to. Tags belong to a key *version*; the operator writes three on every version
 * it makes: the SecureKey's `<namespace>/<name>` (for people), its metadata.uid and the cluster's
 * identity (the kube-system namespace's uid, or the operator's SECUREKEY_CLUSTER_ID). A name and a uid
 * together tell a SecureKey from a re-created one of the same name; the cluster tells two clusters that
 * share a vault apart.
 *
 * Key Vault's create on an existing name adds a version instead of failing, so two SecureKeys racing to
 * create one name both succeed. The name belongs to the owner of its earliest version that carries an
 * owner tag (created time, then version id: an order every reader of the same versions agrees on).
 * See docs/adr/0028-key-ownership-and-adoption.md.
 */
import type { SecureKey } from '../api/securekey.generated.ts';
import { OwnershipError } from './errors.ts';

/** `<namespace>/<name>` of the SecureKey the version was made for. */
export const OWNER_TAG = 'securekey.io/owner';
/** That SecureKey's metadata.uid. */
export const OWNER_UID_TAG = 'securekey.io/owner-uid';
/** The identity of the cluster that SecureKey lives in. */
export const CLUSTER_TAG = 'securekey.io/cluster';

export interface KeyOwner {
  /** `<namespace>/<name>`. */
  secureKey: string;
  uid: string;
  cluster: string;
}

/** What a version's tags say about its owner; undefined when it carries no owner tag at all. */
export interface TaggedOwner {
  secureKey: string;
  /** Absent on versions tagged by an operator that predates uid and cluster tags. */
  uid?: string;
  cluster?: string;
}

/** The ownership facts of one key version, as a version listing gives them. */
export interface KeyVersionFacts {
  version: string;
  createdOn: Date | undefined;
  enabled: boolean;
  owner: TaggedOwner | undefined;
}

export function secureKeyName(sk: SecureKey): string {
  return `${sk.metadata?.namespace ?? ''}/${sk.metadata?.name ?? ''}`;
}

/** The owner a SecureKey's keys are tagged for in this cluster. */
export function keyOwnerOf(sk: SecureKey, cluster: string): KeyOwner {
  const uid = sk.metadata?.uid;
  if (!uid) throw new OwnershipError('no-uid', `SecureKey ${secureKeyName(sk)} has no metadata.uid`);
  if (!cluster) throw new OwnershipError('no-cluster', 'the cluster identity is empty');
  return { secureKey: secureKeyName(sk), uid, cluster };
}

export function ownerTags(owner: KeyOwner): Record<string, string> {
  return { [OWNER_TAG]: owner.secureKey, [OWNER_UID_TAG]: owner.uid, [CLUSTER_TAG]: owner.cluster };
}

/** A version's tags with the owner tags replaced; tags of anyone else are kept. */
export function withOwnerTags(
  tags: Record<string, string> | undefined,
  owner: KeyOwner,
): Record<string, string> {
  return { ...tags, ...ownerTags(owner) };
}

export function ownerFromTags(tags: Record<string, string> | undefined): TaggedOwner | undefined {
  const secureKey = tags?.[OWNER_TAG];
  if (secureKey === undefined) return undefined;
  const uid = tags?.[OWNER_UID_TAG];
  const cluster = tags?.[CLUSTER_TAG];
  return {
    secureKey,
    ...(uid === undefined ? {} : { uid }),
    ...(cluster === undefined ? {} : { cluster }),
  };
}

/** Only all three together identify an owner: a matching name alone is a re-created SecureKey. */
export function isOwner(tagged: TaggedOwner | undefined, owner: KeyOwner): boolean {
  return (
    tagged !== undefined &&
    tagged.secureKey === owner.secureKey &&
    tagged.uid === owner.uid &&
    tagged.cluster === owner.cluster
  );
}

/** A tag set written before owner tags carried a uid and a cluster. */
export function isLegacy(tagged: TaggedOwner): boolean {
  return tagged.uid === undefined || tagged.cluster === undefined;
}

export function describeOwner(tagged: TaggedOwner | undefined): string {
  if (tagged === undefined) return 'no SecureKey';
  if (isLegacy(tagged)) return `SecureKey ${tagged.secureKey} (tagged without uid or cluster)`;
  return `SecureKey ${tagged.secureKey} (uid ${tagged.uid}, cluster ${tagged.cluster})`;
}

function earlier(a: KeyVersionFacts, b: KeyVersionFacts): boolean {
  const at = a.createdOn?.getTime() ?? Number.POSITIVE_INFINITY;
  const bt = b.createdOn?.getTime() ?? Number.POSITIVE_INFINITY;
  return at !== bt ? at < bt : a.version < b.version;
}

/**
 * The version that decides who owns the name: the earliest one carrying an owner tag. Disabled versions
 * count too, so a version disabled after losing a race stays behind the winner's, and a disabled
 * winner's version does not hand the name to whoever comes next. Undefined when no version is tagged.
 */
export function decidingVersion(versions: readonly KeyVersionFacts[]): KeyVersionFacts | undefined {
  let first: KeyVersionFacts | undefined;
  for (const v of versions) {
    if (v.owner !== undefined && (first === undefined || earlier(v, first))) first = v;
  }
  return first;
}

/** The command a person runs to hand an existing key to a SecureKey (docs/adr/0028). */
export function adoptCommand(secureKey: string): string {
  return `securekey adopt --securekey ${secureKey}`;
}
