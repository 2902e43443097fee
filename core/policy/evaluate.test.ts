import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildPolicy, evaluatePolicy, parsePolicy, type ReleasePolicy } from './index.ts';
import { REAL_HOST_DATA, maaContainerClaims } from './published-examples.ts';

const NEU = 'https://sharedneu.neu.attest.azure.net';
const EUS = 'https://sharedeus.eus.attest.azure.net';

function digest(i: number): string {
  return createHash('sha256').update(`pod ${i}`).digest('hex');
}

/** One entry at NEU whose allOf is the given conditions. */
function policyOf(...conditions: unknown[]): ReleasePolicy {
  return parsePolicy({ version: '1.0.0', anyOf: [{ authority: NEU, allOf: conditions }] });
}

const built = buildPolicy({
  authorities: [NEU],
  digests: [REAL_HOST_DATA, digest(1)],
  complianceStatuses: ['azure-compliant-uvm', 'azure-signed-katacc-uvm'],
  baseClaims: [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }],
});

describe('evaluatePolicy', () => {
  it('admits a token whose hostdata is listed and names the authority that admitted it', () => {
    expect(evaluatePolicy(built, maaContainerClaims())).toEqual({
      allowed: true,
      matchedAuthority: NEU,
      reasons: [],
    });
  });

  it('refuses a token whose hostdata is not listed, saying what it had and what the policy wants', () => {
    const d = evaluatePolicy(built, maaContainerClaims({ 'x-ms-sevsnpvm-hostdata': digest(2) }));
    expect(d.allowed).toBe(false);
    expect(d.matchedAuthority).toBeUndefined();
    expect(d.reasons).toEqual([
      `x-ms-sevsnpvm-hostdata: token has "${digest(2)}", policy wants one of ${[REAL_HOST_DATA, digest(1)]
        .sort()
        .map((x) => `"${x}"`)
        .join(', ')}`,
    ]);
  });

  it('refuses a token that lacks a claim the policy tests', () => {
    const claims = maaContainerClaims();
    delete claims['x-ms-sevsnpvm-hostdata'];
    const d = evaluatePolicy(built, claims);
    expect(d.allowed).toBe(false);
    expect(d.reasons[0]).toMatch(/^x-ms-sevsnpvm-hostdata: the token lacks it, policy wants one of/);
  });

  it('refuses a debuggable guest even with a listed digest', () => {
    const d = evaluatePolicy(built, maaContainerClaims({ 'x-ms-sevsnpvm-is-debuggable': true }));
    expect(d).toEqual({
      allowed: false,
      reasons: ['x-ms-sevsnpvm-is-debuggable: token has true, policy wants "false"'],
    });
  });

  it('explains only the conditions of the closest entries', () => {
    const d = evaluatePolicy(built, maaContainerClaims({ 'x-ms-compliance-status': 'azure-compliant-cvm' }));
    expect(d.reasons).toEqual([
      'x-ms-compliance-status: token has "azure-compliant-cvm", policy wants one of "azure-compliant-uvm", "azure-signed-katacc-uvm"',
    ]);
    const both = evaluatePolicy(
      built,
      maaContainerClaims({ 'x-ms-sevsnpvm-vmpl': 2, 'x-ms-sevsnpvm-is-debuggable': true }),
    );
    expect(both.reasons).toEqual([
      'x-ms-sevsnpvm-is-debuggable: token has true, policy wants "false"',
      'x-ms-sevsnpvm-vmpl: token has 2, policy wants "0"',
    ]);
  });

  it('lists a handful of wanted values and counts the rest', () => {
    const many = buildPolicy({
      authorities: [NEU],
      digests: Array.from({ length: 8 }, (_, i) => digest(i + 10)),
      complianceStatuses: ['azure-compliant-uvm'],
    });
    const [reason] = evaluatePolicy(many, maaContainerClaims()).reasons;
    expect(reason).toMatch(/ and 3 more$/);
  });

  it('selects entries by issuer: another authority is refused and named', () => {
    const d = evaluatePolicy(built, maaContainerClaims({ iss: EUS }));
    expect(d.allowed).toBe(false);
    expect(d.reasons).toEqual([
      `no policy entry is for the token's issuer "${EUS}"; the policy names ${NEU}`,
    ]);
    expect(evaluatePolicy(built, maaContainerClaims({ iss: undefined })).reasons[0]).toMatch(/no iss claim/);
    expect(evaluatePolicy(built, maaContainerClaims({ iss: 42 })).allowed).toBe(false);
    // A policy for two authorities admits the token under the entry of its own issuer only.
    const two = buildPolicy({
      authorities: [EUS, NEU],
      digests: [REAL_HOST_DATA],
      complianceStatuses: ['azure-compliant-uvm'],
    });
    expect(evaluatePolicy(two, maaContainerClaims({ iss: EUS })).matchedAuthority).toBe(EUS);
  });

  it('ignores one trailing slash on either side, not two', () => {
    expect(evaluatePolicy(built, maaContainerClaims({ iss: `${NEU}/` })).allowed).toBe(true);
    const slashed = parsePolicy({
      ...JSON.parse(JSON.stringify(built)),
      anyOf: built.anyOf.map((e) => ({ ...e, authority: `${NEU}/` })),
    });
    expect(evaluatePolicy(slashed, maaContainerClaims()).matchedAuthority).toBe(`${NEU}/`);
    expect(evaluatePolicy(slashed, maaContainerClaims({ iss: `${NEU}/` })).allowed).toBe(true);
    expect(evaluatePolicy(built, maaContainerClaims({ iss: `${NEU}//` })).allowed).toBe(false);
    expect(evaluatePolicy(built, maaContainerClaims({ iss: NEU.toUpperCase() })).allowed).toBe(false);
  });

  it('compares scalars in string form: "true" matches true, "0" matches 0, case counts', () => {
    const sdk = policyOf({ claim: 'sdk-test', equals: 'true' });
    const claims = (v: unknown) => ({ iss: NEU, 'sdk-test': v });
    expect(evaluatePolicy(sdk, claims(true)).allowed).toBe(true);
    expect(evaluatePolicy(sdk, claims('true')).allowed).toBe(true);
    expect(evaluatePolicy(sdk, claims('True')).allowed).toBe(false);
    expect(evaluatePolicy(sdk, claims(false)).allowed).toBe(false);
    expect(evaluatePolicy(sdk, claims(1)).allowed).toBe(false);
    expect(evaluatePolicy(policyOf({ claim: 'sdk-test', equals: true }), claims('true')).allowed).toBe(true);
    const vmpl = policyOf({ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' });
    expect(evaluatePolicy(vmpl, maaContainerClaims()).allowed).toBe(true);
    expect(evaluatePolicy(vmpl, maaContainerClaims({ 'x-ms-sevsnpvm-vmpl': 1 })).allowed).toBe(false);
    expect(evaluatePolicy(vmpl, maaContainerClaims({ 'x-ms-sevsnpvm-vmpl': '00' })).allowed).toBe(false);
    expect(
      evaluatePolicy(policyOf({ claim: 'x-ms-sevsnpvm-vmpl', equals: 0 }), maaContainerClaims()).allowed,
    ).toBe(true);
  });

  it('never finds arrays, objects or null equal (or unequal) to a value', () => {
    const eq = policyOf({ claim: 'c', equals: 'true' });
    const ne = policyOf({ claim: 'c', notEquals: 'x' });
    for (const v of [['true'], { true: true }, null, []]) {
      expect(evaluatePolicy(eq, { iss: NEU, c: v }).allowed).toBe(false);
      expect(evaluatePolicy(ne, { iss: NEU, c: v }).allowed).toBe(false);
    }
    expect(evaluatePolicy(eq, { iss: NEU, c: ['true'] }).reasons).toEqual([
      'c: token has an array, policy wants "true"',
    ]);
    expect(evaluatePolicy(ne, { iss: NEU, c: 'y' }).allowed).toBe(true);
    expect(evaluatePolicy(ne, { iss: NEU, c: 'x' }).reasons).toEqual([
      'c: token has "x", policy wants anything but "x"',
    ]);
    expect(evaluatePolicy(ne, { iss: NEU }).allowed).toBe(false);
  });

  it('walks dotted claim names into nested objects, own members only, never into arrays', () => {
    const p = policyOf({ claim: 'x-ms-isolation-tee.x-ms-attestation-type', equals: 'sevsnpvm' });
    const tee = (v: unknown) => ({ iss: NEU, 'x-ms-isolation-tee': v });
    expect(evaluatePolicy(p, tee({ 'x-ms-attestation-type': 'sevsnpvm' })).allowed).toBe(true);
    expect(evaluatePolicy(p, tee({ 'x-ms-attestation-type': 'tdxvm' })).allowed).toBe(false);
    expect(evaluatePolicy(p, tee([{ 'x-ms-attestation-type': 'sevsnpvm' }])).allowed).toBe(false);
    expect(
      evaluatePolicy(p, { iss: NEU, 'x-ms-isolation-tee.x-ms-attestation-type': 'sevsnpvm' }).allowed,
    ).toBe(false);
    const proto = policyOf({ claim: 'constructor.name', equals: 'Object' });
    expect(evaluatePolicy(proto, { iss: NEU }).allowed).toBe(false);
    const runtime = policyOf({ claim: 'x-ms-runtime.keys.0.kid', exists: true });
    expect(evaluatePolicy(runtime, maaContainerClaims()).allowed).toBe(false);
  });

  it('orders numbers only, numeric strings included', () => {
    const svn = (op: string, v: unknown) => policyOf({ claim: 'x-ms-sevsnpvm-microcode-svn', [op]: v });
    const claims = maaContainerClaims(); // microcode svn 115
    expect(evaluatePolicy(svn('greaterOrEquals', 115), claims).allowed).toBe(true);
    expect(evaluatePolicy(svn('greaterOrEquals', '115'), claims).allowed).toBe(true);
    expect(evaluatePolicy(svn('greater', 115), claims).allowed).toBe(false);
    expect(evaluatePolicy(svn('less', '1e3'), claims).allowed).toBe(true);
    expect(evaluatePolicy(svn('lessOrEquals', 114.5), claims).allowed).toBe(false);
    // 115 > 99 as numbers, though "115" < "99" as text.
    expect(evaluatePolicy(svn('greater', '99'), claims).allowed).toBe(true);
    expect(
      evaluatePolicy(svn('greater', '99'), maaContainerClaims({ 'x-ms-sevsnpvm-microcode-svn': '115' }))
        .allowed,
    ).toBe(true);
    const text = evaluatePolicy(
      svn('greater', 1),
      maaContainerClaims({ 'x-ms-sevsnpvm-microcode-svn': 'v115' }),
    );
    expect(text).toEqual({
      allowed: false,
      reasons: [
        'x-ms-sevsnpvm-microcode-svn: token has "v115" (not a number), policy wants a number greater than 1',
      ],
    });
    expect(evaluatePolicy(svn('greater', 'a'), claims).allowed).toBe(false);
    expect(
      evaluatePolicy(svn('greater', 0), maaContainerClaims({ 'x-ms-sevsnpvm-microcode-svn': true })).allowed,
    ).toBe(false);
  });

  it('tests presence with exists', () => {
    const present = policyOf({ claim: 'x-ms-sevsnpvm-hostdata', exists: true });
    const absent = policyOf({ claim: 'x-ms-sevsnpvm-uvm-endorsement', exists: 'false' });
    expect(evaluatePolicy(present, maaContainerClaims()).allowed).toBe(true);
    expect(evaluatePolicy(present, { iss: NEU }).reasons).toEqual([
      'x-ms-sevsnpvm-hostdata: the token lacks it, policy wants the claim present',
    ]);
    expect(evaluatePolicy(absent, maaContainerClaims()).allowed).toBe(true);
    expect(evaluatePolicy(absent, maaContainerClaims({ 'x-ms-sevsnpvm-uvm-endorsement': {} })).allowed).toBe(
      false,
    );
    expect(evaluatePolicy(present, maaContainerClaims({ 'x-ms-sevsnpvm-hostdata': null })).allowed).toBe(
      true,
    );
  });

  it('decides nested groups and entry-level anyOf', () => {
    const p = parsePolicy({
      version: '1.0.0',
      anyOf: [
        {
          authority: NEU,
          anyOf: [
            {
              allOf: [
                { claim: 'a', equals: '1' },
                { claim: 'b', equals: '2' },
              ],
            },
            { anyOf: [{ claim: 'c', equals: '3' }, { allOf: [{ claim: 'd', equals: '4' }] }] },
          ],
        },
      ],
    });
    expect(evaluatePolicy(p, { iss: NEU, a: 1, b: 2 }).allowed).toBe(true);
    expect(evaluatePolicy(p, { iss: NEU, d: '4' }).allowed).toBe(true);
    expect(evaluatePolicy(p, { iss: NEU, a: 1, b: 3 }).allowed).toBe(false);
  });

  it('refuses without throwing whatever the claims are', () => {
    for (const claims of [
      null,
      undefined,
      'iss',
      42,
      [],
      [{ iss: NEU }],
      { iss: NEU, 'x-ms-sevsnpvm-hostdata': { a: [1] } },
    ]) {
      const d = evaluatePolicy(built, claims);
      expect(d.allowed).toBe(false);
      expect(d.reasons.length).toBeGreaterThan(0);
    }
  });
});
