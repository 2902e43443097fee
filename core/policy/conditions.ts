import { OPERATORS } from './types.ts';
import type { AuthorityEntry, ClaimValue, Condition, Operator } from './types.ts';

/** A condition with its form (modern, legacy, group) resolved, so callers need not probe members. */
export type ConditionView =
  | { kind: 'claim'; claim: string; operator: Operator; value: ClaimValue }
  | { kind: 'allOf' | 'anyOf'; conditions: Condition[] };

/** Views a condition of a validated policy. */
export function viewCondition(c: Condition): ConditionView {
  if ('allOf' in c) return { kind: 'allOf', conditions: c.allOf };
  if ('anyOf' in c) return { kind: 'anyOf', conditions: c.anyOf };
  if ('condition' in c) return { kind: 'claim', claim: c.claim, operator: 'equals', value: c.value };
  const record = c as unknown as Record<string, ClaimValue>;
  const operator = OPERATORS.find((op) => Object.hasOwn(record, op)) ?? 'equals';
  return { kind: 'claim', claim: c.claim, operator, value: record[operator] as ClaimValue };
}

/** An authority entry's own condition list, as the group it is. */
export function entryGroup(entry: AuthorityEntry): { kind: 'allOf' | 'anyOf'; conditions: Condition[] } {
  return 'allOf' in entry
    ? { kind: 'allOf', conditions: entry.allOf }
    : { kind: 'anyOf', conditions: entry.anyOf };
}
