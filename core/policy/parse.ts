import { authorityProblem } from './authority.ts';
import { existsWants } from './compare.ts';
import { ReleasePolicyError } from './errors.ts';
import { OPERATORS, POLICY_VERSIONS } from './types.ts';
import type {
  AuthorityEntry,
  ClaimCondition,
  ClaimValue,
  Condition,
  Operator,
  PolicyVersion,
  ReleasePolicy,
} from './types.ts';

/**
 * Accepts what a vault accepts and nothing else: every release policy read back from a vault, posted to
 * the simulated vault, or written by hand passes through here. The result is a fresh object holding only
 * the known members, in a fixed member order.
 */

/** Nesting we follow; the grammar sets none, real policies use two levels. Guards the recursion. */
export const MAX_CONDITION_DEPTH = 32;

type Json = Record<string, unknown>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function member(path: string, name: string): string {
  const step = IDENT.test(name) ? name : `[${JSON.stringify(name)}]`;
  if (path === '$') return step.startsWith('[') ? `$${step}` : step;
  return step.startsWith('[') ? `${path}${step}` : `${path}.${step}`;
}

function fail(kind: ReleasePolicyError['kind'], path: string, message: string, hint?: string): never {
  throw new ReleasePolicyError(kind, message, hint === undefined ? { path } : { path, hint });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function object(v: unknown, path: string, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail('wrong-type', path, `${what} must be a JSON object, not ${describe(v)}`);
  }
  return v as Json;
}

function has(o: Json, name: string): boolean {
  return Object.hasOwn(o, name);
}

function onlyMembers(o: Json, path: string, allowed: readonly string[], where: string): void {
  for (const name of Object.keys(o)) {
    if (!allowed.includes(name)) {
      const near = allowed.find((a) => a.toLowerCase() === name.toLowerCase());
      fail(
        'unknown-member',
        member(path, name),
        `${where} has no member ${JSON.stringify(name)} (allowed: ${allowed.join(', ')})`,
        near === undefined ? undefined : `member names are case-sensitive: write ${near}`,
      );
    }
  }
}

function scalar(v: unknown, path: string): ClaimValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return fail(
    'bad-value',
    path,
    `a value must be a string, number or boolean, not ${describe(v)}`,
    'the grammar allows no objects or arrays as values; write scalars in string form, e.g. "false" or "0"',
  );
}

function conditionList(v: unknown, path: string, depth: number): Condition[] {
  if (!Array.isArray(v)) fail('wrong-type', path, `must be an array of conditions, not ${describe(v)}`);
  if (v.length === 0) {
    fail('empty-list', path, 'must hold at least one condition', 'an empty list would decide nothing');
  }
  return v.map((c, i) => condition(c, `${path}[${i}]`, depth));
}

function claimCondition(o: Json, path: string): ClaimCondition {
  onlyMembers(o, path, ['claim', ...OPERATORS, 'condition', 'value'], 'a claim condition');
  const claim = o['claim'];
  if (typeof claim !== 'string') {
    fail('wrong-type', member(path, 'claim'), `must be a string, not ${describe(claim)}`);
  }
  if (claim === '') fail('bad-claim', member(path, 'claim'), 'the claim name is empty');
  const operators = OPERATORS.filter((op) => has(o, op));
  const legacy = has(o, 'condition') || has(o, 'value');
  const forms: string[] = [...operators, ...(legacy ? ['condition'] : [])];
  if (forms.length > 1) {
    fail(
      'multiple-operators',
      member(path, forms[1] as string),
      `a claim condition has exactly one operator, found ${forms.join(' and ')}`,
    );
  }
  if (legacy) {
    if (!has(o, 'condition')) {
      fail('missing-member', member(path, 'condition'), 'the legacy form needs "condition"');
    }
    if (!has(o, 'value')) fail('missing-member', member(path, 'value'), 'the legacy form needs "value"');
    const op = o['condition'];
    if (typeof op !== 'string') {
      fail('wrong-type', member(path, 'condition'), `must be a string, not ${describe(op)}`);
    }
    if (op !== 'equals') {
      fail(
        'unknown-operator',
        member(path, 'condition'),
        `the legacy form supports only "equals", not ${JSON.stringify(op)}`,
      );
    }
    return { claim, condition: 'equals', value: scalar(o['value'], member(path, 'value')) };
  }
  const operator = operators[0] as Operator | undefined;
  if (operator === undefined) {
    fail('missing-operator', path, `a claim condition needs one operator: ${OPERATORS.join(', ')}`);
  }
  const value = scalar(o[operator], member(path, operator));
  if (operator === 'exists' && existsWants(value) === undefined) {
    fail('bad-value', member(path, operator), 'exists takes true or false');
  }
  return { claim, [operator]: value } as ClaimCondition;
}

function condition(v: unknown, path: string, depth: number): Condition {
  if (depth > MAX_CONDITION_DEPTH) {
    fail('too-deep', path, `conditions nest deeper than ${MAX_CONDITION_DEPTH} levels`);
  }
  const o = object(v, path, 'a condition');
  if (has(o, 'claim')) return claimCondition(o, path);
  if (has(o, 'allOf') && has(o, 'anyOf')) {
    fail('ambiguous-conditions', path, 'a group has either allOf or anyOf, not both');
  }
  const group = has(o, 'allOf') ? 'allOf' : has(o, 'anyOf') ? 'anyOf' : undefined;
  if (group === undefined) {
    const op = OPERATORS.find((name) => has(o, name));
    fail(
      'missing-member',
      member(path, 'claim'),
      op === undefined
        ? 'a condition needs a claim or an allOf/anyOf group'
        : `the ${op} condition names no claim`,
    );
  }
  onlyMembers(o, path, [group], `an ${group} group`);
  const conditions = conditionList(o[group], member(path, group), depth + 1);
  return group === 'allOf' ? { allOf: conditions } : { anyOf: conditions };
}

function authorityEntry(v: unknown, path: string): AuthorityEntry {
  const o = object(v, path, 'an authority entry');
  onlyMembers(o, path, ['authority', 'allOf', 'anyOf'], 'an authority entry');
  if (!has(o, 'authority')) {
    fail('missing-member', member(path, 'authority'), 'an authority entry needs "authority"');
  }
  const authority = o['authority'];
  if (typeof authority !== 'string') {
    fail('wrong-type', member(path, 'authority'), `must be a string, not ${describe(authority)}`);
  }
  const problem = authorityProblem(authority, ['https:', 'http:']);
  if (problem !== undefined) {
    fail(
      'bad-authority',
      member(path, 'authority'),
      `${JSON.stringify(authority)} ${problem}`,
      'write the issuer URL, as its iss claim',
    );
  }
  const hasAll = has(o, 'allOf');
  const hasAny = has(o, 'anyOf');
  if (hasAll && hasAny) fail('ambiguous-conditions', path, 'an authority entry has allOf or anyOf, not both');
  if (!hasAll && !hasAny) fail('missing-conditions', path, 'an authority entry needs allOf or anyOf');
  const group = hasAll ? 'allOf' : 'anyOf';
  const conditions = conditionList(o[group], member(path, group), 1);
  return group === 'allOf' ? { authority, allOf: conditions } : { authority, anyOf: conditions };
}

/** Validates a parsed JSON document as a release policy. Errors name the JSON path. */
export function parsePolicy(doc: unknown): ReleasePolicy {
  const o = object(doc, '$', 'a release policy');
  onlyMembers(o, '$', ['version', 'anyOf'], 'a release policy');
  if (!has(o, 'version')) {
    fail(
      'missing-version',
      'version',
      "missing 'version' property",
      `Managed HSM refuses a policy without one; write "version": "1.0.0"`,
    );
  }
  const version = o['version'];
  if (typeof version !== 'string') {
    fail('wrong-type', 'version', `must be a string, not ${describe(version)}`);
  }
  if (!(POLICY_VERSIONS as readonly string[]).includes(version)) {
    fail(
      'unsupported-version',
      'version',
      `${JSON.stringify(version)} is not one of ${POLICY_VERSIONS.join(', ')}`,
    );
  }
  if (!has(o, 'anyOf')) {
    fail('missing-member', 'anyOf', 'a release policy needs an anyOf list of authorities');
  }
  const entries = o['anyOf'];
  if (!Array.isArray(entries)) {
    fail('wrong-type', 'anyOf', `must be an array of authority entries, not ${describe(entries)}`);
  }
  if (entries.length === 0) fail('empty-list', 'anyOf', 'must hold at least one authority entry');
  return {
    version: version as PolicyVersion,
    anyOf: entries.map((e, i) => authorityEntry(e, `anyOf[${i}]`)),
  };
}

/** Parses release policy JSON text. */
export function parsePolicyJson(text: string): ReleasePolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ReleasePolicyError('bad-json', `release policy is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parsePolicy(doc);
}
