/**
 * Simulated Microsoft Entra ID (a SecureKey simulator, never a real identity provider): enough of the
 * token service for the real @azure/identity credentials — client secrets and workload-identity
 * federated assertions — plus the JWT and issuer-key toolkit the simulated vault shares.
 */
export {
  TOKEN_EXCHANGE_AUDIENCE,
  type EntraApplication,
  type EntraOptions,
  type FederatedCredential,
} from './config.ts';
export { entraApp, type EntraAppOptions } from './app.ts';
export { EntraRejection, type EntraErrorBody, type EntraErrorResult } from './entra-errors.ts';
export {
  EntraService,
  JWT_BEARER,
  type EntraCounters,
  type SigningMaterial,
  type TokenSuccess,
} from './entra-service.ts';
export { TokenError, type TokenErrorKind } from './errors.ts';
export {
  IssuerKeys,
  publicKeyOfJwk,
  type IssuerKeysOptions,
  type Jwk,
  type Jwks,
  type TrustedIssuer,
} from './issuer-keys.ts';
export {
  audiences,
  checkAlgorithm,
  checkLifetime,
  decodeJwt,
  signJwt,
  verifySignature,
  type DecodedJwt,
  type JsonObject,
} from './jwt.ts';
export { startEntra, type RunningEntra, type StartEntraOptions } from './start.ts';
export { verifyDecodedJwt } from './verify-jwt.ts';
