import type { ClaimLookup } from './claims.ts';
import { existsWants, numericValue, scalarText } from './compare.ts';
import type { ClaimValue, Operator } from './types.ts';

/** A claim condition a token did not meet, with what the token had. */
export interface FailedCondition {
  claim: string;
  operator: Operator;
  wanted: ClaimValue;
  found: ClaimLookup;
}

/** Values listed per claim before "and N more": enough to spot a near miss, short enough for an event. */
const LISTED_VALUES = 5;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function listed(values: ClaimValue[], joiner: string): string {
  const shown = values.slice(0, LISTED_VALUES).map(show).join(joiner);
  const more = values.length - LISTED_VALUES;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

const ORDER_WORDS: Record<string, string> = {
  less: 'less than',
  lessOrEquals: 'at most',
  greater: 'greater than',
  greaterOrEquals: 'at least',
};

function wanted(operator: Operator, values: ClaimValue[]): string {
  switch (operator) {
    case 'equals':
      return values.length === 1 ? show(values[0]) : `one of ${listed(values, ', ')}`;
    case 'notEquals':
      return `anything but ${listed(values, ' or ')}`;
    case 'exists':
      return existsWants(values[0] as ClaimValue) ? 'the claim present' : 'the claim absent';
    default:
      return `a number ${ORDER_WORDS[operator]} ${listed(values, ' or ')}`;
  }
}

function had(operator: Operator, found: ClaimLookup): string {
  if (!found.present) return 'the token lacks it';
  const base = `token has ${show(found.value)}`;
  if (operator === 'equals' || operator === 'notEquals' || operator === 'exists') return base;
  return numericValue(found.value) === undefined ? `${base} (not a number)` : base;
}

/**
 * One line per claim and operator, e.g. `x-ms-sevsnpvm-hostdata: token has "a1b2…", policy wants one of
 * "c3d4…", "e5f6…"`, for the simulated vault's 403 body and the agent's hints. Values are claims and
 * policy values, never key material.
 */
export function explainFailures(failures: readonly FailedCondition[]): string[] {
  const groups = new Map<string, { first: FailedCondition; values: ClaimValue[]; seen: Set<string> }>();
  for (const f of failures) {
    const key = `${f.claim}\u0000${f.operator}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { first: f, values: [], seen: new Set() };
      groups.set(key, g);
    }
    const text = `${typeof f.wanted}:${scalarText(f.wanted)}`;
    if (!g.seen.has(text)) {
      g.seen.add(text);
      g.values.push(f.wanted);
    }
  }
  return [...groups.values()].map(
    ({ first, values }) =>
      `${first.claim}: ${had(first.operator, first.found)}, policy wants ${wanted(first.operator, values)}`,
  );
}
