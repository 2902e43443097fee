import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  MAX_POLICY_BYTES,
  MAX_POLICY_DIGESTS,
  NO_DIGEST,
  ReleasePolicyError,
  buildPolicy,
  digestsOf,
  evaluatePolicy,
  parsePolicy,
  policyHash,
  serializePolicy,
  type ReleasePolicyErrorKind,
  type ReleasePolicyInput,
} from './index.ts';
import { IMPORTKEY_POLICY, REAL_HOST_DATA, maaContainerClaims } from './published-examples.ts';

const NEU = 'https://sharedneu.neu.attest.azure.net';
const EUS = 'https://sharedeus.eus.attest.azure.net';
const KATA = 'azure-signed-katacc-uvm';
const UVM = 'azure-compliant-uvm';

function digest(i: number): string {
  return createHash('sha256').update(`pod policy ${i}`).digest('hex');
}

function buildError(input: ReleasePolicyInput, kind: ReleasePolicyErrorKind): ReleasePolicyError {
  try {
    buildPolicy(input);
  } catch (err) {
    expect(isErrorOf(err, ReleasePolicyError, kind), String(err)).toBe(true);
    return err as ReleasePolicyError;
  }
  throw new Error(`expected ReleasePolicyError ${kind}`);
}

/** A small deterministic shuffle (mulberry32), so a failure reproduces. */
function shuffled<T>(values: readonly T[], seed: number): T[] {
  let s = seed;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('buildPolicy', () => {
  it('writes byte for byte the policy the sidecar importkey tool writes for the same inputs', () => {
    const policy = buildPolicy({
      authorities: [NEU],
      digests: [REAL_HOST_DATA],
      complianceStatuses: [UVM],
      baseClaims: [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }],
    });
    expect(serializePolicy(policy)).toBe(IMPORTKEY_POLICY);
  });

  it('writes one entry per authority × digest × status, in the strictest documented grammar', () => {
    const digests = [digest(1), digest(2), digest(3)];
    const policy = buildPolicy({
      authorities: [NEU, EUS],
      digests,
      complianceStatuses: [KATA, UVM],
      baseClaims: [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }],
    });
    expect(policy.version).toBe('1.0.0');
    expect(policy.anyOf).toHaveLength(2 * 3 * 2);
    for (const entry of policy.anyOf) {
      expect(Object.keys(entry)).toEqual(['authority', 'allOf']);
      const conditions = (entry as { allOf: unknown[] }).allOf;
      for (const c of conditions) {
        expect(Object.keys(c as object)).toEqual(['claim', 'equals']);
        expect(typeof (c as { equals: unknown }).equals).toBe('string');
      }
      expect(conditions.map((c) => (c as { claim: string }).claim)).toEqual([
        'x-ms-sevsnpvm-hostdata',
        'x-ms-compliance-status',
        'x-ms-sevsnpvm-is-debuggable',
        'x-ms-sevsnpvm-vmpl',
      ]);
    }
    const triples = policy.anyOf.map((e) => {
      const [h, s] = (e as { allOf: { equals: string }[] }).allOf;
      return `${e.authority} ${h?.equals} ${s?.equals}`;
    });
    expect(triples).toEqual([...triples].sort());
    expect(new Set(triples).size).toBe(12);
    expect(digestsOf(policy)).toEqual({ digests: [...digests].sort(), unrestricted: false });
    // What we build, we accept back.
    expect(parsePolicy(JSON.parse(serializePolicy(policy)))).toEqual(policy);
  });

  it('gives identical bytes and hash for the same sets in any order, with duplicates', () => {
    const input = {
      authorities: [NEU, EUS, `${EUS}/`],
      digests: [digest(1), digest(2), digest(3), digest(4), digest(2)],
      complianceStatuses: [KATA, UVM, KATA],
      baseClaims: [
        { claim: 'x-ms-sevsnpvm-vmpl', equals: '0' },
        { claim: 'x-ms-attestation-type', equals: 'sevsnpvm' },
        { claim: 'x-ms-sevsnpvm-vmpl', equals: '0' },
      ],
    };
    const reference = serializePolicy(buildPolicy(input));
    for (let seed = 1; seed <= 20; seed++) {
      const policy = buildPolicy({
        authorities: shuffled(input.authorities, seed),
        digests: shuffled(input.digests, seed + 100),
        complianceStatuses: shuffled(input.complianceStatuses, seed + 200),
        baseClaims: shuffled(input.baseClaims, seed + 300),
      });
      expect(serializePolicy(policy)).toBe(reference);
      expect(policyHash(policy)).toBe(policyHash(JSON.parse(reference)));
    }
    expect(JSON.parse(reference).anyOf).toHaveLength(2 * 4 * 2);
    // The base claims come sorted after the fixed three.
    expect(reference).toContain(
      '{"claim":"x-ms-attestation-type","equals":"sevsnpvm"},{"claim":"x-ms-sevsnpvm-vmpl","equals":"0"}',
    );
  });

  it('drops one trailing slash from an authority and refuses other non-normal forms', () => {
    const one = buildPolicy({ authorities: [`${NEU}/`], digests: [digest(1)], complianceStatuses: [KATA] });
    expect(one.anyOf[0]?.authority).toBe(NEU);
    const cases: [string, RegExp][] = [
      [`${NEU}//`, /more than one slash/],
      ['http://sharedneu.neu.attest.azure.net', /expected https/],
      ['https://SharedNEU.neu.attest.azure.net', /normal form/],
      [`${NEU}:443`, /normal form/],
      [`${NEU}?x=1`, /query/],
      ['sharedneu.neu.attest.azure.net', /absolute URL/],
    ];
    for (const [authority, text] of cases) {
      const err = buildError(
        { authorities: [authority], digests: [digest(1)], complianceStatuses: [KATA] },
        'bad-authority',
      );
      expect(err.message).toMatch(text);
    }
    const err = buildError(
      {
        authorities: ['https://SharedNEU.neu.attest.azure.net'],
        digests: [digest(1)],
        complianceStatuses: [KATA],
      },
      'bad-authority',
    );
    expect(err.hint).toContain(NEU);
    buildError({ authorities: [], digests: [digest(1)], complianceStatuses: [KATA] }, 'no-authorities');
  });

  it('refuses digests that are not 64 lowercase hex, naming the index', () => {
    const upper = buildError(
      { authorities: [NEU], digests: [digest(1), REAL_HOST_DATA.toUpperCase()], complianceStatuses: [KATA] },
      'bad-digest',
    );
    expect(upper.message).toContain('digests[1]');
    expect(upper.hint).toMatch(/lowercase/);
    for (const bad of [REAL_HOST_DATA.slice(1), `${REAL_HOST_DATA}00`, 'g'.repeat(64), '']) {
      buildError({ authorities: [NEU], digests: [bad], complianceStatuses: [KATA] }, 'bad-digest');
    }
  });

  it('refuses missing compliance statuses and base claims that are malformed, reserved or contradictory', () => {
    buildError(
      { authorities: [NEU], digests: [digest(1)], complianceStatuses: [] },
      'no-compliance-statuses',
    );
    const base = (baseClaims: { claim: string; equals: string }[]) => ({
      authorities: [NEU],
      digests: [digest(1)],
      complianceStatuses: [KATA],
      baseClaims,
    });
    expect(
      buildError(base([{ claim: 'x-ms-sevsnpvm-is-debuggable', equals: 'true' }]), 'bad-claim').message,
    ).toMatch(/always sets itself/);
    buildError(base([{ claim: 'x-ms-sevsnpvm-hostdata', equals: digest(2) }]), 'bad-claim');
    const conflict = buildError(
      base([
        { claim: 'x-ms-sevsnpvm-vmpl', equals: '0' },
        { claim: 'x-ms-sevsnpvm-vmpl', equals: '1' },
      ]),
      'bad-claim',
    );
    expect(conflict.message).toContain('baseClaims[1]');
    buildError(base([{ claim: 'a..b', equals: 'x' }]), 'bad-claim');
    buildError(base([{ claim: 'x-ms-sevsnpvm-vmpl', equals: 0 as unknown as string }]), 'bad-claim');
  });

  it('builds a policy that admits nothing real while no digest is admitted', () => {
    const policy = buildPolicy({ authorities: [NEU], digests: [], complianceStatuses: [KATA, UVM] });
    expect(parsePolicy(JSON.parse(serializePolicy(policy)))).toEqual(policy);
    expect(serializePolicy(policy)).toContain(NO_DIGEST);
    expect(digestsOf(policy)).toEqual({ digests: [], unrestricted: false });
    // A pod without any policy launches with HOST_DATA of 64 zeros: it must not be admitted either.
    for (const hostdata of ['0'.repeat(64), REAL_HOST_DATA]) {
      const decision = evaluatePolicy(policy, maaContainerClaims({ 'x-ms-sevsnpvm-hostdata': hostdata }));
      expect(decision.allowed).toBe(false);
      expect(decision.reasons.join('\n')).toContain('x-ms-sevsnpvm-hostdata');
    }
  });

  it(`refuses more than ${MAX_POLICY_DIGESTS} digests, naming the count`, () => {
    const many = Array.from({ length: MAX_POLICY_DIGESTS + 1 }, (_, i) => digest(i));
    const err = buildError(
      { authorities: [NEU], digests: many, complianceStatuses: [KATA] },
      'policy-too-large',
    );
    expect(err.message).toContain(`${MAX_POLICY_DIGESTS + 1} digests`);
    // The maximum itself fits, with the usual base claim.
    const policy = buildPolicy({
      authorities: [NEU],
      digests: many.slice(1),
      complianceStatuses: [KATA],
      baseClaims: [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }],
    });
    expect(Buffer.byteLength(serializePolicy(policy))).toBeLessThanOrEqual(MAX_POLICY_BYTES);
  });

  it('refuses a policy whose entries outgrow the byte limit', () => {
    const err = buildError(
      {
        authorities: [NEU, EUS],
        digests: Array.from({ length: 40 }, (_, i) => digest(i)),
        complianceStatuses: [KATA],
      },
      'policy-too-large',
    );
    expect(err.message).toContain('80 entries = 2 authorities × 40 hostdata values × 1 compliance statuses');
    expect(err.message).toContain(String(MAX_POLICY_BYTES));
  });
});
