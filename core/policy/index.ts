/**
 * ReleasePolicy: the Azure Key Vault / Managed HSM secure key release policy. Build the policy a SecureKey
 * wants (build.ts), carry it on the wire (encoding.ts), accept any policy a vault accepts (parse.ts),
 * decide tokens as the vault does (evaluate.ts), and compare policies by hash (hash.ts). Pure: no I/O.
 */
export { sameAuthority, trimTrailingSlash } from './authority.ts';
export {
  buildConfidentialVmPolicy,
  buildPolicy,
  NO_DIGEST,
  type BaseClaim,
  type ConfidentialVmPolicyInput,
  type ReleasePolicyInput,
} from './build.ts';
export {
  COMPLIANCE_STATUS_CLAIM,
  CVM_ATTESTATION_TYPE_CLAIM,
  CVM_COMPLIANCE_STATUS_CLAIM,
  CVM_IS_DEBUGGABLE_CLAIM,
  HOSTDATA_CLAIM,
  IS_DEBUGGABLE_CLAIM,
  ISOLATION_TEE_CLAIM,
  SEVSNP_ATTESTATION_TYPE,
  lookupClaim,
  type ClaimLookup,
} from './claims.ts';
export { viewCondition, type ConditionView } from './conditions.ts';
export { digestsOf, type AdmittedDigests } from './digests.ts';
export {
  POLICY_CONTENT_TYPE,
  decodePolicyDocument,
  decodeReleasePolicy,
  encodeReleasePolicy,
  serializePolicy,
} from './encoding.ts';
export { ReleasePolicyError, type ReleasePolicyErrorKind } from './errors.ts';
export { evaluatePolicy, type PolicyDecision } from './evaluate.ts';
export { canonicalJson, policyHash, samePolicy } from './hash.ts';
export { MAX_DECODED_POLICY_BYTES, MAX_POLICY_BYTES, MAX_POLICY_DIGESTS } from './limits.ts';
export { MAX_CONDITION_DEPTH, parsePolicy, parsePolicyJson } from './parse.ts';
export {
  BUILD_VERSION,
  OPERATORS,
  POLICY_VERSIONS,
  type AllOfCondition,
  type AnyOfCondition,
  type AuthorityEntry,
  type ClaimCondition,
  type ClaimValue,
  type Condition,
  type LegacyCondition,
  type Operator,
  type OperatorCondition,
  type PolicyVersion,
  type ReleasePolicy,
  type WireReleasePolicy,
} from './types.ts';
