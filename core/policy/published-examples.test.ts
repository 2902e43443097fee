import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../errors.ts';
import {
  ReleasePolicyError,
  evaluatePolicy,
  parsePolicy,
  parsePolicyJson,
  type ReleasePolicy,
} from './index.ts';
import {
  CVM_SKR_POLICY_EXCERPT,
  JS_SDK_2021_POLICY,
  JS_SDK_POLICY,
  JS_SDK_TOKEN_CLAIMS,
  SPEC_7_4_RELEASE_POLICY,
  maaContainerClaims,
} from './published-examples.ts';

/** Policies published without a version: Managed HSM refuses them; with one they are valid. */
function withVersion(text: string): ReleasePolicy {
  try {
    parsePolicyJson(text);
    throw new Error('expected missing-version');
  } catch (err) {
    expect(isErrorOf(err, ReleasePolicyError, 'missing-version'), String(err)).toBe(true);
  }
  return parsePolicy({ version: '1.0.0', ...JSON.parse(text) });
}

describe('policies published by Microsoft', () => {
  it('7.4 REST spec example: legacy condition form, SGX claims, authority with a trailing slash', () => {
    const policy = withVersion(SPEC_7_4_RELEASE_POLICY);
    expect(policy.anyOf[0]).toEqual({
      authority: 'http://localhost:8023/',
      allOf: [
        {
          claim: 'x-ms-sgx-mrsigner',
          condition: 'equals',
          value: '86788fe40448f2a12e20bf8d5e7a1c3139bc5fdc1432b370c1da3489ab649a85',
        },
        { claim: 'x-ms-sgx-is-debuggable', condition: 'equals', value: 'false' },
      ],
    });
    const sgx = {
      iss: 'http://localhost:8023',
      'x-ms-sgx-mrsigner': '86788fe40448f2a12e20bf8d5e7a1c3139bc5fdc1432b370c1da3489ab649a85',
      'x-ms-sgx-is-debuggable': false,
    };
    expect(evaluatePolicy(policy, sgx)).toEqual({
      allowed: true,
      matchedAuthority: 'http://localhost:8023/',
      reasons: [],
    });
    expect(evaluatePolicy(policy, { ...sgx, 'x-ms-sgx-is-debuggable': true }).allowed).toBe(false);
  });

  it('CVM skr-policy: trailing-slash authorities, anyOf nested inside allOf', () => {
    const policy = withVersion(CVM_SKR_POLICY_EXCERPT);
    const cvm = (iss: string, type: string) =>
      maaContainerClaims({
        iss,
        'x-ms-compliance-status': 'azure-compliant-cvm',
        'x-ms-attestation-type': type,
      });
    expect(evaluatePolicy(policy, cvm('https://sharedeus.eus.attest.azure.net', 'sevsnpvm'))).toEqual({
      allowed: true,
      matchedAuthority: 'https://sharedeus.eus.attest.azure.net/',
      reasons: [],
    });
    expect(evaluatePolicy(policy, cvm('https://sharedeus.eus.attest.azure.net', 'tdxvm')).allowed).toBe(true);
    // sharedscus admits SNP only.
    expect(evaluatePolicy(policy, cvm('https://sharedscus.scus.attest.azure.net', 'tdxvm')).reasons).toEqual([
      'x-ms-attestation-type: token has "tdxvm", policy wants "sevsnpvm"',
    ]);
    expect(evaluatePolicy(policy, cvm('https://sharedeus.eus.attest.azure.net', 'sgx')).reasons).toEqual([
      'x-ms-attestation-type: token has "sgx", policy wants one of "tdxvm", "sevsnpvm"',
    ]);
    // A confidential container token is not a CVM token.
    const container = maaContainerClaims({ iss: 'https://sharedeus.eus.attest.azure.net' });
    expect(evaluatePolicy(policy, container).reasons).toEqual([
      'x-ms-compliance-status: token has "azure-compliant-uvm", policy wants "azure-compliant-cvm"',
    ]);
  });

  it('JS SDK tests against a real mHSM: the string "true" admits the Boolean claim true', () => {
    for (const doc of [JS_SDK_2021_POLICY, JS_SDK_POLICY]) {
      const policy = parsePolicy(doc);
      expect(evaluatePolicy(policy, JS_SDK_TOKEN_CLAIMS)).toEqual({
        allowed: true,
        matchedAuthority: 'https://malegerskr4.azurewebsites.net/',
        reasons: [],
      });
      expect(evaluatePolicy(policy, { ...JS_SDK_TOKEN_CLAIMS, 'sdk-test': false }).allowed).toBe(false);
      expect(
        evaluatePolicy(policy, { ...JS_SDK_TOKEN_CLAIMS, iss: 'https://malegerskr4.azurewebsites.net' })
          .allowed,
      ).toBe(true);
    }
    expect(parsePolicy(JS_SDK_2021_POLICY).version).toBe('1.0');
  });
});
