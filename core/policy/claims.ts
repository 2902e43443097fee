/** MAA SEV-SNP claims our policies test. */
export const HOSTDATA_CLAIM = 'x-ms-sevsnpvm-hostdata';
export const COMPLIANCE_STATUS_CLAIM = 'x-ms-compliance-status';
export const IS_DEBUGGABLE_CLAIM = 'x-ms-sevsnpvm-is-debuggable';

/**
 * Claims of an Azure confidential-VM token (guest attestation, `AzureGuest`): the top level speaks of the
 * VM (`x-ms-attestation-type: azurevm`, `x-ms-azurevm-*`), and the SEV-SNP claims sit one level down, in
 * `x-ms-isolation-tee`. Microsoft's "Secure Key Release with confidential VMs" how-to tests the first two.
 */
export const ISOLATION_TEE_CLAIM = 'x-ms-isolation-tee';
export const CVM_ATTESTATION_TYPE_CLAIM = `${ISOLATION_TEE_CLAIM}.x-ms-attestation-type`;
export const CVM_COMPLIANCE_STATUS_CLAIM = `${ISOLATION_TEE_CLAIM}.x-ms-compliance-status`;
export const CVM_IS_DEBUGGABLE_CLAIM = `${ISOLATION_TEE_CLAIM}.${IS_DEBUGGABLE_CLAIM}`;
/** The isolation TEE of an AMD SEV-SNP confidential VM. */
export const SEVSNP_ATTESTATION_TYPE = 'sevsnpvm';

/** A claim as found in a token: absent, or present with whatever JSON value the issuer put there. */
export type ClaimLookup = { present: false } | { present: true; value: unknown };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Finds a claim by the grammar's dot notation (`x-ms-isolation-tee.x-ms-attestation-type`): each dot
 * walks into a nested object. Arrays are not walked ("array specifications aren't presently supported"),
 * and only own members count, so `constructor` or `__proto__` never resolve to something inherited.
 */
export function lookupClaim(claims: unknown, path: string): ClaimLookup {
  let current: unknown = claims;
  for (const segment of path.split('.')) {
    if (!isPlainObject(current) || !Object.hasOwn(current, segment)) return { present: false };
    current = current[segment];
  }
  return { present: true, value: current };
}
