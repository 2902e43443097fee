import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildPolicy,
  canonicalJson,
  decodeReleasePolicy,
  encodeReleasePolicy,
  parsePolicyJson,
  policyHash,
  samePolicy,
} from './index.ts';
import { IMPORTKEY_POLICY, REAL_HOST_DATA } from './published-examples.ts';

const NEU = 'https://sharedneu.neu.attest.azure.net';

/** The importkey policy with every object's members reversed and white space added. */
const REORDERED = JSON.stringify(
  JSON.parse(IMPORTKEY_POLICY, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).reverse())
      : value,
  ),
  null,
  2,
);

describe('policyHash', () => {
  it('is sha256 of the canonical JSON: sorted members, no white space', () => {
    const policy = parsePolicyJson(IMPORTKEY_POLICY);
    const canonical = canonicalJson(policy);
    expect(canonical.startsWith('{"anyOf":[{"allOf":[{"claim":"x-ms-sevsnpvm-hostdata","equals":')).toBe(
      true,
    );
    expect(
      canonical.endsWith('],"authority":"https://sharedneu.neu.attest.azure.net"}],"version":"1.0.0"}'),
    ).toBe(true);
    expect(canonical).not.toMatch(/\s/);
    expect(policyHash(policy)).toBe(createHash('sha256').update(canonical).digest('hex'));
    expect(policyHash(policy)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the same for documents that differ only in member order and white space', () => {
    expect(REORDERED).not.toBe(IMPORTKEY_POLICY);
    expect(REORDERED.indexOf('"anyOf"')).toBeLessThan(REORDERED.indexOf('"version"'));
    // Hashing the raw documents, before parse re-orders them, must agree too.
    expect(canonicalJson(JSON.parse(REORDERED))).toBe(canonicalJson(JSON.parse(IMPORTKEY_POLICY)));
    expect(policyHash(parsePolicyJson(REORDERED))).toBe(policyHash(parsePolicyJson(IMPORTKEY_POLICY)));
  });

  it('changes with any value, and with the order of entries', () => {
    const policy = parsePolicyJson(IMPORTKEY_POLICY);
    const other = parsePolicyJson(IMPORTKEY_POLICY.replace('"0"', '"1"'));
    expect(policyHash(other)).not.toBe(policyHash(policy));
    const two = parsePolicyJson(
      `{"version":"1.0.0","anyOf":[{"authority":"${NEU}","allOf":[{"claim":"a","equals":"1"}]},` +
        `{"authority":"${NEU}","allOf":[{"claim":"b","equals":"2"}]}]}`,
    );
    const swapped = { ...two, anyOf: [...two.anyOf].reverse() };
    expect(policyHash(swapped)).not.toBe(policyHash(two));
  });
});

describe('samePolicy', () => {
  it('finds the vault copy of a built policy the same, so a steady state writes nothing', () => {
    const desired = buildPolicy({
      authorities: [NEU],
      digests: [REAL_HOST_DATA],
      complianceStatuses: ['azure-compliant-uvm'],
      baseClaims: [{ claim: 'x-ms-sevsnpvm-vmpl', equals: '0' }],
    });
    // The vault re-serialises what it stores; here as standard base64 of the reordered document.
    const fromVault = decodeReleasePolicy({
      contentType: 'application/json; charset=utf-8',
      data: Buffer.from(REORDERED).toString('base64'),
    });
    expect(samePolicy(desired, fromVault)).toBe(true);
    expect(samePolicy(desired, decodeReleasePolicy(encodeReleasePolicy(desired)))).toBe(true);
  });

  it('finds a policy with another digest, or no policy at all, different', () => {
    const a = buildPolicy({
      authorities: [NEU],
      digests: [REAL_HOST_DATA],
      complianceStatuses: ['azure-compliant-uvm'],
    });
    const b = buildPolicy({
      authorities: [NEU],
      digests: ['0'.repeat(63) + '1'],
      complianceStatuses: ['azure-compliant-uvm'],
    });
    expect(samePolicy(a, b)).toBe(false);
    expect(samePolicy(a, undefined)).toBe(false);
  });
});
