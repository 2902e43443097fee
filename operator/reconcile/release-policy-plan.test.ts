import { describe, expect, it } from 'vitest';
import {
  digestsOf,
  evaluatePolicy,
  parsePolicyJson,
  policyHash,
  ReleasePolicyError,
} from '../../core/policy/index.ts';
import { MAX_POLICY_DIGESTS, NO_DIGEST } from '../../core/policy/index.ts';
import { maaConfidentialVmClaims } from '../../core/policy/published-examples.ts';
import { planReleasePolicy } from './release-policy-plan.ts';
import { digests, MAA, secureKey } from '../../test/support/reconcile.ts';

const NEU = 'https://sharedneu.neu.attest.azure.net';

function ok(plan: ReturnType<typeof planReleasePolicy>) {
  if (!plan.ok) throw plan.error;
  return plan;
}

function complianceOf(json: string): string[] {
  const p = JSON.parse(json) as { anyOf: { allOf: { claim: string; equals: string }[] }[] };
  return [
    ...new Set(
      p.anyOf.flatMap((e) =>
        e.allOf.filter((c) => c.claim === 'x-ms-compliance-status').map((c) => c.equals),
      ),
    ),
  ];
}

describe('planReleasePolicy', () => {
  it('admits the given digests from the spec authorities; hash and json describe the same policy', () => {
    const ds = digests(3);
    const plan = ok(
      planReleasePolicy(
        secureKey(),
        ds.map((digest) => ({ digest, source: 'Pod' as const, firstSeen: 'x' })),
      ),
    );
    expect(plan.json).toBe(JSON.stringify(plan.policy));
    expect(plan.hash).toBe(policyHash(parsePolicyJson(plan.json)));
    expect(digestsOf(plan.policy)).toEqual({ digests: [...ds].sort(), unrestricted: false });
    expect(plan.policy.anyOf.every((e) => e.authority === MAA)).toBe(true);
    expect(plan.policy.anyOf).toHaveLength(3);
  });

  it('admits no digest with the never-matching placeholder when there are none', () => {
    const plan = ok(planReleasePolicy(secureKey(), []));
    expect(plan.json).toContain(NO_DIGEST);
    expect(digestsOf(plan.policy).digests).toEqual([]);
  });

  it.each([
    ['kata-agent-policy', 'azure-signed-katacc-uvm'],
    ['kata-initdata', 'azure-signed-katacc-uvm'],
    ['aci-cce', 'azure-compliant-uvm'],
  ] as const)('defaults compliance status for %s to %s; the spec overrides it', (scheme, status) => {
    expect(complianceOf(ok(planReleasePolicy(secureKey({ policyScheme: scheme }), digests(1))).json)).toEqual(
      [status],
    );
    const custom = secureKey({ policyScheme: scheme });
    custom.spec.attestation.complianceStatuses = ['azure-compliant-cvm'];
    expect(complianceOf(ok(planReleasePolicy(custom, digests(1))).json)).toEqual(['azure-compliant-cvm']);
  });

  it('adds spec.attestation.claims to every entry', () => {
    const sk = secureKey();
    sk.spec.attestation.claims = [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }];
    const plan = ok(planReleasePolicy(sk, digests(2)));
    for (const e of plan.policy.anyOf) {
      expect(JSON.stringify(e)).toContain('"x-ms-sevsnpvm-vmpl"');
    }
  });

  it('gives byte-identical json and hash for permuted inputs', () => {
    const ds = digests(5);
    const a = secureKey();
    a.spec.attestation = {
      authorities: [MAA, NEU],
      complianceStatuses: ['s1', 's2'],
      claims: [
        { claim: 'c1', equals: '1' },
        { claim: 'c2', equals: '2' },
      ],
    };
    const b = secureKey();
    b.spec.attestation = {
      authorities: [NEU, `${MAA}/`],
      complianceStatuses: ['s2', 's1'],
      claims: [
        { claim: 'c2', equals: '2' },
        { claim: 'c1', equals: '1' },
      ],
    };
    const pa = ok(planReleasePolicy(a, ds));
    const pb = ok(planReleasePolicy(b, [...ds].reverse()));
    expect(pb.json).toBe(pa.json);
    expect(pb.hash).toBe(pa.hash);
    expect(ok(planReleasePolicy(a, digests(5, 'other'))).hash).not.toBe(pa.hash);
  });

  it('the planned policy releases to a token carrying an admitted digest only', () => {
    const [d0, d1] = digests(2);
    const plan = ok(planReleasePolicy(secureKey(), [d0!]));
    const token = (hostdata: string) => ({
      iss: MAA,
      'x-ms-sevsnpvm-hostdata': hostdata,
      'x-ms-compliance-status': 'azure-signed-katacc-uvm',
      'x-ms-sevsnpvm-is-debuggable': false,
    });
    expect(evaluatePolicy(plan.policy, token(d0!)).allowed).toBe(true);
    expect(evaluatePolicy(plan.policy, token(d1!)).allowed).toBe(false);
  });

  it(`returns policy-too-large as a value for more than ${MAX_POLICY_DIGESTS} digests`, () => {
    expect(planReleasePolicy(secureKey(), digests(MAX_POLICY_DIGESTS)).ok).toBe(true);
    const plan = planReleasePolicy(secureKey(), digests(MAX_POLICY_DIGESTS + 1));
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.error).toBeInstanceOf(ReleasePolicyError);
    expect(plan.error.kind).toBe('policy-too-large');
  });

  it('returns spec problems as values too: no authorities, bad digest', () => {
    const none = secureKey();
    none.spec.attestation.authorities = [];
    const r1 = planReleasePolicy(none, digests(1));
    expect(r1.ok === false && r1.error.kind).toBe('no-authorities');
    const r2 = planReleasePolicy(secureKey(), ['ABC']);
    expect(r2.ok === false && r2.error.kind).toBe('bad-digest');
  });

  it('node mode: the confidential-VM form, whatever digests are passed, azure-compliant-cvm by default', () => {
    const node = secureKey({}, { mode: 'Node' });
    const plan = ok(planReleasePolicy(node, digests(3)));
    expect(digestsOf(plan.policy).digests).toEqual([]);
    expect(plan.policy.anyOf).toEqual([
      {
        authority: MAA,
        allOf: [
          { claim: 'x-ms-isolation-tee.x-ms-attestation-type', equals: 'sevsnpvm' },
          { claim: 'x-ms-isolation-tee.x-ms-compliance-status', equals: 'azure-compliant-cvm' },
          { claim: 'x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable', equals: 'false' },
        ],
      },
    ]);
    expect(ok(planReleasePolicy(node, [])).hash).toBe(plan.hash);
    // The token of Microsoft's CVM how-to, issued by this SecureKey's authority.
    expect(evaluatePolicy(plan.policy, maaConfidentialVmClaims({ iss: MAA })).allowed).toBe(true);
  });

  it('node mode: complianceStatuses and x-ms-azurevm-* claims from the spec', () => {
    const node = secureKey(
      {},
      {
        mode: 'Node',
        attestation: {
          authorities: [MAA],
          complianceStatuses: ['azure-compliant-cvm-next'],
          claims: [{ claim: 'x-ms-azurevm-default-securebootkeysvalidated', equals: 'true' }],
        },
      },
    );
    const plan = ok(planReleasePolicy(node, []));
    const conditions =
      plan.policy.anyOf[0] && 'allOf' in plan.policy.anyOf[0] ? plan.policy.anyOf[0].allOf : [];
    expect(conditions).toContainEqual({
      claim: 'x-ms-isolation-tee.x-ms-compliance-status',
      equals: 'azure-compliant-cvm-next',
    });
    expect(conditions).toContainEqual({
      claim: 'x-ms-azurevm-default-securebootkeysvalidated',
      equals: 'true',
    });
    const token = maaConfidentialVmClaims({
      iss: MAA,
      'x-ms-azurevm-default-securebootkeysvalidated': false,
    });
    expect(evaluatePolicy(plan.policy, token).allowed).toBe(false);
  });
});
