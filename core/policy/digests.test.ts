import { describe, expect, it } from 'vitest';
import { digestsOf, parsePolicy, parsePolicyJson } from './index.ts';
import { CVM_SKR_POLICY_EXCERPT, IMPORTKEY_POLICY, REAL_HOST_DATA } from './published-examples.ts';

const A = 'https://sharedneu.neu.attest.azure.net';
const D1 = '1'.repeat(64);
const D2 = '2'.repeat(64);
const D3 = 'ab'.repeat(32);

function entries(...groups: unknown[]): ReturnType<typeof parsePolicy> {
  return parsePolicy({ version: '1.0.0', anyOf: groups.map((allOf) => ({ authority: A, allOf })) });
}

const host = (equals: string) => ({ claim: 'x-ms-sevsnpvm-hostdata', equals });

describe('digestsOf', () => {
  it('lists the hostdata of a flat policy', () => {
    expect(digestsOf(parsePolicyJson(IMPORTKEY_POLICY))).toEqual({
      digests: [REAL_HOST_DATA],
      unrestricted: false,
    });
    expect(digestsOf(entries([host(D2)], [host(D1)], [host(D2)]))).toEqual({
      digests: [D1, D2],
      unrestricted: false,
    });
  });

  it('follows nesting: anyOf unites, allOf intersects, legacy equality counts', () => {
    const nested = entries([
      { claim: 'x-ms-compliance-status', equals: 'azure-compliant-uvm' },
      { anyOf: [host(D1), host(D2)] },
    ]);
    expect(digestsOf(nested).digests).toEqual([D1, D2]);
    expect(digestsOf(entries([host(D1), host(D2)]))).toEqual({ digests: [], unrestricted: false });
    expect(digestsOf(entries([host(D1), { anyOf: [host(D1), host(D3)] }])).digests).toEqual([D1]);
    const legacy = entries([{ claim: 'x-ms-sevsnpvm-hostdata', condition: 'equals', value: D3 }]);
    expect(digestsOf(legacy).digests).toEqual([D3]);
  });

  it('reports a policy that admits any hostdata, and still lists the pinned ones', () => {
    const cvm = parsePolicy({ version: '1.0.0', ...JSON.parse(CVM_SKR_POLICY_EXCERPT) });
    expect(digestsOf(cvm)).toEqual({ digests: [], unrestricted: true });
    expect(digestsOf(entries([{ claim: 'x-ms-sevsnpvm-hostdata', notEquals: D1 }])).unrestricted).toBe(true);
    expect(
      digestsOf(entries([{ anyOf: [host(D1), { claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }] }])).unrestricted,
    ).toBe(true);
    expect(digestsOf(entries([host(D1)], [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }]))).toEqual({
      digests: [D1],
      unrestricted: true,
    });
  });

  it('leaves out values no token can carry', () => {
    expect(digestsOf(entries([host('none')], [host(D1)])).digests).toEqual([D1]);
  });
});
