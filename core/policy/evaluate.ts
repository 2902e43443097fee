import { sameAuthority } from './authority.ts';
import { lookupClaim } from './claims.ts';
import { conditionHolds } from './compare.ts';
import { entryGroup, viewCondition } from './conditions.ts';
import { explainFailures } from './reasons.ts';
import type { FailedCondition } from './reasons.ts';
import type { Condition, ReleasePolicy } from './types.ts';

/** The vault's decision on one token, with why not when it refuses. */
export interface PolicyDecision {
  allowed: boolean;
  /** The authority of the entry that admitted the token, as the policy writes it. */
  matchedAuthority?: string;
  /** Why the token was refused: the failed conditions of the entries it came closest to. */
  reasons: string[];
}

/** The claim conditions that fail; none when the condition holds. */
function failures(c: Condition, claims: unknown): FailedCondition[] {
  const view = viewCondition(c);
  if (view.kind === 'claim') {
    const found = lookupClaim(claims, view.claim);
    return conditionHolds(view.operator, view.value, found)
      ? []
      : [{ claim: view.claim, operator: view.operator, wanted: view.value, found }];
  }
  return groupFailures(view.kind, view.conditions, claims);
}

function groupFailures(kind: 'allOf' | 'anyOf', conditions: Condition[], claims: unknown): FailedCondition[] {
  const each = conditions.map((c) => failures(c, claims));
  if (kind === 'anyOf' && each.some((f) => f.length === 0)) return [];
  return each.flat();
}

/**
 * Decides a token as the vault does (https://learn.microsoft.com/azure/key-vault/keys/policy-grammar):
 * the entries whose authority matches the token's `iss` (one trailing slash ignored on each side) are
 * selected, and the token is admitted if the conditions of any selected entry hold. The semantics of each
 * operator are in compare.ts. Never throws for a policy that passed parsePolicy or buildPolicy.
 */
export function evaluatePolicy(policy: ReleasePolicy, claims: unknown): PolicyDecision {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    return { allowed: false, reasons: ['the token claims are not a JSON object'] };
  }
  const iss = (claims as Record<string, unknown>)['iss'];
  if (typeof iss !== 'string') {
    return {
      allowed: false,
      reasons: ['the token has no iss claim, and the policy selects entries by issuer'],
    };
  }
  const selected = policy.anyOf.filter((e) => sameAuthority(e.authority, iss));
  if (selected.length === 0) {
    const names = [...new Set(policy.anyOf.map((e) => e.authority))];
    const shown =
      names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
    return {
      allowed: false,
      reasons: [
        `no policy entry is for the token's issuer ${JSON.stringify(iss)}; the policy names ${shown}`,
      ],
    };
  }
  const missed: FailedCondition[][] = [];
  for (const entry of selected) {
    const group = entryGroup(entry);
    const f = groupFailures(group.kind, group.conditions, claims);
    if (f.length === 0) return { allowed: true, matchedAuthority: entry.authority, reasons: [] };
    missed.push(f);
  }
  // Explain the entries the token came closest to: with a flat policy that is the one condition that
  // differs (usually hostdata) rather than every entry's every mismatch.
  const fewest = missed.reduce((n, f) => Math.min(n, f.length), Infinity);
  return { allowed: false, reasons: explainFailures(missed.filter((f) => f.length === fewest).flat()) };
}
