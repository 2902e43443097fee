/**
 * Simulated Microsoft Azure Attestation — a SecureKey simulator, never the real service: SEV-SNP
 * attestation of the request the Microsoft SKR sidecar sends, verified with the core, answered with an
 * RS256 token carrying MAA's claim set, plus `/certs` and OpenID metadata for relying parties.
 */
export { API_VERSIONS, apiVersionOf, type ApiVersion } from './api-version.ts';
export { maaApp, type MaaAppOptions } from './app.ts';
export { DENY_DEBUG_POLICY, PERMIT_ALL_POLICY, policyHashClaim } from './attestation-policy.ts';
export {
  sevSnpVmClaims,
  tokenClaims,
  type ClaimContext,
  type Claims,
  type ComplianceRule,
  type TcbClaimSource,
  type TokenClaimOptions,
} from './claims.ts';
export { MaaError, type MaaErrorCode, type MaaErrorKind, type MaaRequestErrorKind } from './errors.ts';
export { verifyEvidence, type EvidencePolicy, type VerifiedEvidence } from './evidence.ts';
export {
  DEFAULT_COMPLIANCE_STATUS,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  MaaService,
  type MaaServiceOptions,
} from './maa-service.ts';
export { parseAttestRequest, type AttestSevSnpRequest, type DataType, type TypedData } from './request.ts';
export { SigningKeys, signToken, type Jwk, type SigningKey } from './signing-keys.ts';
export { startMaa, type RunningMaa, type StartMaaOptions } from './start.ts';
export { MaaStats } from './stats.ts';
export { amdArks, pickTrustedArk, trustedArks, type TrustedArks } from './trusted-arks.ts';
