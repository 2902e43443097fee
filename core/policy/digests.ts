import { HOSTDATA_CLAIM } from './claims.ts';
import { entryGroup, viewCondition } from './conditions.ts';
import type { Condition, ReleasePolicy } from './types.ts';

/** The hostdata digests a policy admits. */
export interface AdmittedDigests {
  /** Sorted, unique; only values a token can carry (64 hex digits), so NO_DIGEST is never listed. */
  digests: string[];
  /** True when some entry admits tokens whatever their hostdata (no hostdata equality constrains it). */
  unrestricted: boolean;
}

/** Hostdata values under which a condition can hold; `all` when it does not constrain hostdata. */
type HostdataSet = 'all' | Set<string>;

function intersect(a: HostdataSet, b: HostdataSet): HostdataSet {
  if (a === 'all') return b;
  if (b === 'all') return a;
  return new Set([...a].filter((d) => b.has(d)));
}

function union(a: HostdataSet, b: HostdataSet): HostdataSet {
  if (a === 'all' || b === 'all') return 'all';
  return new Set([...a, ...b]);
}

function admitted(kind: 'allOf' | 'anyOf', conditions: Condition[]): HostdataSet {
  const sets = conditions.map(condition);
  return kind === 'allOf'
    ? sets.reduce<HostdataSet>(intersect, 'all')
    : sets.reduce<HostdataSet>(union, new Set());
}

function condition(c: Condition): HostdataSet {
  const view = viewCondition(c);
  if (view.kind !== 'claim') return admitted(view.kind, view.conditions);
  // Only equality pins hostdata; notEquals, ordering and exists leave it open (an over-approximation).
  if (view.claim !== HOSTDATA_CLAIM || view.operator !== 'equals') return 'all';
  return new Set([String(view.value)]);
}

const CARRIABLE = /^[0-9a-fA-F]{64}$/;

/**
 * The digests (SEV-SNP HOST_DATA values) a policy admits, from any authority, for status display and for
 * diffing the vault's policy against the desired one. Conditions on other claims are ignored: a digest is
 * listed when some entry can hold with the token carrying it.
 */
export function digestsOf(policy: ReleasePolicy): AdmittedDigests {
  const digests = new Set<string>();
  let unrestricted = false;
  for (const entry of policy.anyOf) {
    const group = entryGroup(entry);
    const set = admitted(group.kind, group.conditions);
    if (set === 'all') unrestricted = true;
    else for (const d of set) if (CARRIABLE.test(d)) digests.add(d);
  }
  return { digests: [...digests].sort(), unrestricted };
}
