import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  ReleasePolicyError,
  buildConfidentialVmPolicy,
  buildPolicy,
  decodeReleasePolicy,
  digestsOf,
  evaluatePolicy,
  parsePolicyJson,
  policyHash,
  serializePolicy,
  type ConfidentialVmPolicyInput,
  type ReleasePolicyErrorKind,
} from './index.ts';
import {
  CVM_HOWTO_RELEASE_POLICY,
  REAL_HOST_DATA,
  maaConfidentialVmClaims,
  maaContainerClaims,
} from './published-examples.ts';

const WEU = 'https://sharedweu.weu.attest.azure.net';
const EUS = 'https://sharedeus.eus.attest.azure.net';
const CVM = 'azure-compliant-cvm';
const SECURE_BOOT = { claim: 'x-ms-azurevm-default-securebootkeysvalidated', equals: 'true' };

const cvm = (over: Partial<ConfidentialVmPolicyInput> = {}) =>
  buildConfidentialVmPolicy({ authorities: [WEU], complianceStatuses: [CVM], ...over });

/** The how-to's token with its isolation TEE changed. */
function teeClaims(tee: Record<string, unknown>): Record<string, unknown> {
  const claims = maaConfidentialVmClaims();
  return { ...claims, 'x-ms-isolation-tee': { ...(claims['x-ms-isolation-tee'] as object), ...tee } };
}

function buildError(input: ConfidentialVmPolicyInput, kind: ReleasePolicyErrorKind): ReleasePolicyError {
  try {
    buildConfidentialVmPolicy(input);
  } catch (err) {
    expect(isErrorOf(err, ReleasePolicyError, kind), String(err)).toBe(true);
    return err as ReleasePolicyError;
  }
  throw new Error(`expected ReleasePolicyError ${kind}`);
}

describe('buildConfidentialVmPolicy (node mode)', () => {
  it('starts every entry with the conditions of the policy a real vault holds in Microsoft’s CVM how-to', () => {
    const howto = decodeReleasePolicy(CVM_HOWTO_RELEASE_POLICY);
    const ours = cvm();
    expect(ours.anyOf).toHaveLength(1);
    const [theirs] = howto.anyOf;
    const [entry] = ours.anyOf;
    expect(entry?.authority).toBe(theirs?.authority);
    const theirConditions = theirs && 'allOf' in theirs ? theirs.allOf : [];
    expect(theirConditions).toHaveLength(2);
    expect(entry && 'allOf' in entry ? entry.allOf : []).toEqual([
      ...theirConditions,
      { claim: 'x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable', equals: 'false' },
    ]);
  });

  it('admits the how-to’s confidential-VM token, as the how-to’s own policy does', () => {
    const token = maaConfidentialVmClaims();
    expect(evaluatePolicy(decodeReleasePolicy(CVM_HOWTO_RELEASE_POLICY), token).allowed).toBe(true);
    expect(evaluatePolicy(cvm(), token)).toEqual({ allowed: true, matchedAuthority: WEU, reasons: [] });
    expect(evaluatePolicy(cvm({ baseClaims: [SECURE_BOOT] }), token).allowed).toBe(true);
  });

  it('refuses a CVM that is not compliant, not SEV-SNP, debuggable or without secure-boot keys', () => {
    const refused = (claims: Record<string, unknown>, policy = cvm()) => {
      const d = evaluatePolicy(policy, claims);
      expect(d.allowed).toBe(false);
      return d.reasons;
    };
    expect(refused(teeClaims({ 'x-ms-compliance-status': 'azure-compliant-uvm' }))).toEqual([
      'x-ms-isolation-tee.x-ms-compliance-status: token has "azure-compliant-uvm", policy wants "azure-compliant-cvm"',
    ]);
    expect(refused(teeClaims({ 'x-ms-attestation-type': 'tdxvm' }))).toEqual([
      'x-ms-isolation-tee.x-ms-attestation-type: token has "tdxvm", policy wants "sevsnpvm"',
    ]);
    expect(refused(teeClaims({ 'x-ms-sevsnpvm-is-debuggable': true }))).toEqual([
      'x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable: token has true, policy wants "false"',
    ]);
    const noKeys = maaConfidentialVmClaims({ 'x-ms-azurevm-default-securebootkeysvalidated': false });
    expect(refused(noKeys, cvm({ baseClaims: [SECURE_BOOT] }))).toEqual([
      'x-ms-azurevm-default-securebootkeysvalidated: token has false, policy wants "true"',
    ]);
    // Another issuer's CVM: the policy names its own authorities only.
    expect(refused(maaConfidentialVmClaims({ iss: EUS }))[0]).toMatch(
      /no policy entry is for the token's issuer/,
    );
  });

  it('does not confuse the two token shapes: a pod’s token is not a node’s, nor the reverse', () => {
    // A confidential container's token has its SEV-SNP claims at the top level and no isolation TEE.
    const pod = maaContainerClaims({ iss: WEU, 'x-ms-compliance-status': CVM });
    expect(evaluatePolicy(cvm(), pod).reasons).toContain(
      'x-ms-isolation-tee.x-ms-attestation-type: the token lacks it, policy wants "sevsnpvm"',
    );
    const podPolicy = buildPolicy({
      authorities: [WEU],
      digests: [REAL_HOST_DATA],
      complianceStatuses: [CVM],
    });
    expect(evaluatePolicy(podPolicy, maaConfidentialVmClaims()).allowed).toBe(false);
  });

  it('writes one entry per authority × status, sorted, de-duplicated and stable in bytes', () => {
    const a = cvm({
      authorities: [WEU, `${EUS}/`, EUS],
      complianceStatuses: ['azure-compliant-cvm-preview', CVM, CVM],
      baseClaims: [SECURE_BOOT, { claim: 'x-ms-azurevm-ostype', equals: 'Linux' }],
    });
    const b = cvm({
      authorities: [EUS, WEU],
      complianceStatuses: [CVM, 'azure-compliant-cvm-preview'],
      baseClaims: [{ claim: 'x-ms-azurevm-ostype', equals: 'Linux' }, SECURE_BOOT],
    });
    expect(serializePolicy(a)).toBe(serializePolicy(b));
    expect(policyHash(a)).toBe(policyHash(b));
    expect(a.anyOf.map((e) => e.authority)).toEqual([EUS, EUS, WEU, WEU]);
    // The strict flat form parses back unchanged, and names no digest (the node is the TEE).
    expect(parsePolicyJson(serializePolicy(a))).toEqual(a);
    expect(digestsOf(a)).toEqual({ digests: [], unrestricted: true });
  });

  it('refuses claims it sets itself, and SEV-SNP claims outside the isolation TEE that could never hold', () => {
    const reserved = buildError(
      {
        authorities: [WEU],
        complianceStatuses: [CVM],
        baseClaims: [{ claim: 'x-ms-isolation-tee.x-ms-compliance-status', equals: 'x' }],
      },
      'bad-claim',
    );
    expect(reserved.message).toMatch(/sets x-ms-isolation-tee\.x-ms-compliance-status/);
    for (const claim of ['x-ms-sevsnpvm-vmpl', 'x-ms-compliance-status']) {
      const err = buildError(
        { authorities: [WEU], complianceStatuses: [CVM], baseClaims: [{ claim, equals: '0' }] },
        'bad-claim',
      );
      expect(err.hint).toBe(
        `a confidential-VM token has ${claim} only inside x-ms-isolation-tee: write x-ms-isolation-tee.${claim}`,
      );
    }
    const vmpl = cvm({ baseClaims: [{ claim: 'x-ms-isolation-tee.x-ms-sevsnpvm-vmpl', equals: '0' }] });
    expect(evaluatePolicy(vmpl, maaConfidentialVmClaims()).allowed).toBe(true);
    buildError({ authorities: [], complianceStatuses: [CVM] }, 'no-authorities');
    buildError({ authorities: [WEU], complianceStatuses: [] }, 'no-compliance-statuses');
  });
});
