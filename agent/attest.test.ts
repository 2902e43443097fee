import { describe, expect, it } from 'vitest';
import { requireComplianceStatus } from './attest.ts';
import { AgentError } from './errors.ts';

const jwt = (claims: Record<string, unknown>) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const MAA = 'https://maa.example';

function refusal(tokens: Map<string, string>, sentFrom?: string): AgentError {
  try {
    requireComplianceStatus(tokens, { sentFrom, searched: ['/a/reference-info-base64'] });
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    return err as AgentError;
  }
  throw new Error('expected an AgentError');
}

describe('requireComplianceStatus', () => {
  it('passes tokens that carry a compliance status, and leaves unreadable ones to the vault', () => {
    const ok = new Map([[MAA, jwt({ 'x-ms-compliance-status': 'azure-signed-katacc-uvm' })]]);
    expect(() => requireComplianceStatus(ok, { sentFrom: undefined, searched: [] })).not.toThrow();
    expect(() =>
      requireComplianceStatus(new Map([[MAA, 'not a jwt']]), { sentFrom: undefined, searched: [] }),
    ).not.toThrow();
  });

  it('says whether no reference info was found or it was not accepted', () => {
    const bare = new Map([[MAA, jwt({ 'x-ms-attestation-type': 'sevsnpvm' })]]);
    const none = refusal(bare);
    expect(none).toMatchObject({
      kind: 'uvm-not-endorsed',
      step: 'attestation',
      endpoint: `${MAA}/attest/SevSnpVm`,
    });
    expect(none.message).toContain('looked for /a/reference-info-base64');
    const notAccepted = refusal(bare, '/b/reference-info-base64');
    expect(notAccepted.kind).toBe('uvm-not-endorsed');
    expect(notAccepted.message).toMatch(
      /did not accept the UVM reference info from \/b\/reference-info-base64/,
    );
  });
});
