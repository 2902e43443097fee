import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  MAX_CONDITION_DEPTH,
  OPERATORS,
  ReleasePolicyError,
  parsePolicy,
  parsePolicyJson,
  serializePolicy,
  type ReleasePolicyErrorKind,
} from './index.ts';

const A = 'https://sharedneu.neu.attest.azure.net';

function policyError(doc: unknown, kind: ReleasePolicyErrorKind, path?: string): ReleasePolicyError {
  try {
    parsePolicy(doc);
  } catch (err) {
    expect(isErrorOf(err, ReleasePolicyError, kind), String(err)).toBe(true);
    const e = err as ReleasePolicyError;
    if (path !== undefined) {
      expect(e.path).toBe(path);
      expect(e.message).toContain(path);
    }
    return e;
  }
  throw new Error(`expected ReleasePolicyError ${kind}`);
}

/** A valid two-entry policy whose second entry's first condition is `condition`. */
function withCondition(condition: unknown): unknown {
  return {
    version: '1.0.0',
    anyOf: [
      { authority: A, allOf: [{ claim: 'x', equals: 'y' }] },
      { authority: A, allOf: [condition, { claim: 'z', equals: 'w' }] },
    ],
  };
}

function withEntry(entry: unknown): unknown {
  return { version: '1.0.0', anyOf: [entry] };
}

describe('parsePolicy: what a vault accepts', () => {
  it('accepts every observed version, all seven operators, nesting and the legacy form', () => {
    for (const version of ['0.2', '1.0', '1.0.0']) {
      expect(
        parsePolicy({ version, anyOf: [{ authority: A, allOf: [{ claim: 'x', equals: 'y' }] }] }).version,
      ).toBe(version);
    }
    const doc = {
      version: '1.0.0',
      anyOf: [
        {
          authority: 'http://localhost:8023/',
          anyOf: [
            { claim: 'a', equals: 'x' },
            { claim: 'b', notEquals: 1 },
            { claim: 'c', less: 2 },
            { claim: 'd', lessOrEquals: '3' },
            { claim: 'e', greater: 4.5 },
            { claim: 'f', greaterOrEquals: -1 },
            { claim: 'g', exists: true },
            { claim: 'h', exists: 'false' },
            { claim: 'i', condition: 'equals', value: true },
            {
              allOf: [{ claim: 'j', equals: false }, { anyOf: [{ allOf: [{ claim: 'k.l', equals: 'm' }] }] }],
            },
          ],
        },
      ],
    };
    expect(parsePolicy(doc)).toEqual(doc);
    expect(OPERATORS).toHaveLength(7);
  });

  it('returns members in one order whatever order the document uses', () => {
    const text =
      '{ "anyOf": [ { "allOf": [ { "equals": "y", "claim": "x" }, { "value": "v", "claim": "c", "condition": "equals" } ],' +
      ` "authority": "${A}" } ], "version": "1.0.0" }`;
    expect(serializePolicy(parsePolicyJson(text))).toBe(
      `{"version":"1.0.0","anyOf":[{"authority":"${A}","allOf":[{"claim":"x","equals":"y"},` +
        '{"claim":"c","condition":"equals","value":"v"}]}]}',
    );
  });

  it('refuses a missing version as Managed HSM does, and versions nobody has seen', () => {
    const missing = policyError(
      { anyOf: [{ authority: A, allOf: [{ claim: 'x', equals: 'y' }] }] },
      'missing-version',
      'version',
    );
    expect(missing.message).toContain("missing 'version' property");
    expect(missing.hint).toContain('1.0.0');
    policyError({ version: '2.0', anyOf: [] }, 'unsupported-version', 'version');
    policyError({ version: '1.0.2', anyOf: [] }, 'unsupported-version', 'version');
    policyError({ version: 1, anyOf: [] }, 'wrong-type', 'version');
  });

  it('refuses a document that is not an object, or whose anyOf is missing, not a list, or empty', () => {
    policyError([], 'wrong-type', '$');
    policyError('{"version":"1.0.0"}', 'wrong-type', '$');
    policyError({ version: '1.0.0' }, 'missing-member', 'anyOf');
    policyError({ version: '1.0.0', anyOf: {} }, 'wrong-type', 'anyOf');
    policyError({ version: '1.0.0', anyOf: [] }, 'empty-list', 'anyOf');
    policyError({ version: '1.0.0', anyOf: [null] }, 'wrong-type', 'anyOf[0]');
  });

  it('refuses unknown members at every level, with a hint for a case slip', () => {
    const top = policyError({ Version: '1.0.0', anyOf: [] }, 'unknown-member', 'Version');
    expect(top.hint).toContain('version');
    policyError(
      withEntry({ authority: A, allOf: [{ claim: 'x', equals: 'y' }], note: 'n' }),
      'unknown-member',
      'anyOf[0].note',
    );
    policyError(
      withCondition({ claim: 'x', equals: 'y', comment: 'c' }),
      'unknown-member',
      'anyOf[1].allOf[0].comment',
    );
    policyError(
      withCondition({ allOf: [{ claim: 'x', equals: 'y' }], extra: 1 }),
      'unknown-member',
      'anyOf[1].allOf[0].extra',
    );
    policyError(withCondition({ claim: 'x', Equals: 'y' }), 'unknown-member', 'anyOf[1].allOf[0].Equals');
    policyError(
      withCondition({ claim: 'x', equals: 'y', 'odd name': 1 }),
      'unknown-member',
      'anyOf[1].allOf[0]["odd name"]',
    );
  });

  it('refuses authority entries without a URL authority or without exactly one of allOf/anyOf', () => {
    const conditions = [{ claim: 'x', equals: 'y' }];
    policyError(withEntry({ allOf: conditions }), 'missing-member', 'anyOf[0].authority');
    policyError(withEntry({ authority: 42, allOf: conditions }), 'wrong-type', 'anyOf[0].authority');
    policyError(
      withEntry({ authority: 'my.attestation.com', allOf: conditions }),
      'bad-authority',
      'anyOf[0].authority',
    );
    policyError(
      withEntry({ authority: 'ftp://a.example', allOf: conditions }),
      'bad-authority',
      'anyOf[0].authority',
    );
    policyError(
      withEntry({ authority: A, allOf: conditions, anyOf: conditions }),
      'ambiguous-conditions',
      'anyOf[0]',
    );
    policyError(withEntry({ authority: A }), 'missing-conditions', 'anyOf[0]');
    policyError(withEntry({ authority: A, allOf: [] }), 'empty-list', 'anyOf[0].allOf');
    policyError(withEntry({ authority: A, anyOf: {} }), 'wrong-type', 'anyOf[0].anyOf');
  });

  it('refuses a claim condition with zero or two operators', () => {
    policyError(withCondition({ claim: 'x' }), 'missing-operator', 'anyOf[1].allOf[0]');
    policyError(
      withCondition({ claim: 'x', equals: 'y', notEquals: 'z' }),
      'multiple-operators',
      'anyOf[1].allOf[0].notEquals',
    );
    policyError(
      withCondition({ claim: 'x', equals: 'y', condition: 'equals', value: 'y' }),
      'multiple-operators',
      'anyOf[1].allOf[0].condition',
    );
  });

  it('refuses legacy conditions other than equals, or missing a part', () => {
    policyError(
      withCondition({ claim: 'x', condition: 'notEquals', value: 'y' }),
      'unknown-operator',
      'anyOf[1].allOf[0].condition',
    );
    policyError(
      withCondition({ claim: 'x', condition: 'equals' }),
      'missing-member',
      'anyOf[1].allOf[0].value',
    );
    policyError(withCondition({ claim: 'x', value: 'y' }), 'missing-member', 'anyOf[1].allOf[0].condition');
    policyError(
      withCondition({ claim: 'x', condition: 1, value: 'y' }),
      'wrong-type',
      'anyOf[1].allOf[0].condition',
    );
  });

  it('refuses values that are not scalars and claims that are not names', () => {
    policyError(withCondition({ claim: 'x', equals: { a: 1 } }), 'bad-value', 'anyOf[1].allOf[0].equals');
    policyError(withCondition({ claim: 'x', equals: ['y'] }), 'bad-value', 'anyOf[1].allOf[0].equals');
    policyError(withCondition({ claim: 'x', notEquals: null }), 'bad-value', 'anyOf[1].allOf[0].notEquals');
    policyError(
      withCondition({ claim: 'x', condition: 'equals', value: [] }),
      'bad-value',
      'anyOf[1].allOf[0].value',
    );
    policyError(withCondition({ claim: 'x', exists: 'maybe' }), 'bad-value', 'anyOf[1].allOf[0].exists');
    policyError(withCondition({ claim: '', equals: 'y' }), 'bad-claim', 'anyOf[1].allOf[0].claim');
    policyError(withCondition({ claim: 7, equals: 'y' }), 'wrong-type', 'anyOf[1].allOf[0].claim');
  });

  it('refuses malformed groups, naming the nested path', () => {
    policyError(
      withCondition({ allOf: [{ claim: 'x', equals: 'y' }], anyOf: [] }),
      'ambiguous-conditions',
      'anyOf[1].allOf[0]',
    );
    policyError(withCondition({ equals: 'y' }), 'missing-member', 'anyOf[1].allOf[0].claim');
    policyError(withCondition({}), 'missing-member', 'anyOf[1].allOf[0].claim');
    policyError(withCondition('x == y'), 'wrong-type', 'anyOf[1].allOf[0]');
    policyError(withCondition({ anyOf: [] }), 'empty-list', 'anyOf[1].allOf[0].anyOf');
    policyError(
      withCondition({ anyOf: [{ claim: 'x', equals: 'y' }, { allOf: [{ claim: 'x', equal: 'y' }] }] }),
      'unknown-member',
      'anyOf[1].allOf[0].anyOf[1].allOf[0].equal',
    );
  });

  it(`follows nesting up to ${MAX_CONDITION_DEPTH} levels and no further`, () => {
    const nest = (levels: number): unknown => {
      let c: unknown = { claim: 'x', equals: 'y' };
      for (let i = 0; i < levels; i++) c = { [i % 2 ? 'anyOf' : 'allOf']: [c] };
      return c;
    };
    expect(() =>
      parsePolicy(withEntry({ authority: A, allOf: [nest(MAX_CONDITION_DEPTH - 1)] })),
    ).not.toThrow();
    policyError(withEntry({ authority: A, allOf: [nest(MAX_CONDITION_DEPTH)] }), 'too-deep');
  });

  it('refuses text that is not JSON', () => {
    try {
      parsePolicyJson('{"version": "1.0.0", anyOf: []}');
      throw new Error('expected bad-json');
    } catch (err) {
      expect(isErrorOf(err, ReleasePolicyError, 'bad-json'), String(err)).toBe(true);
    }
  });
});
