/**
 * Simulated Microsoft Entra ID (a SecureKey simulator, never a real identity provider): enough of the
 * token service for the real @azure/identity credentials — client secrets and workload-identity
 * federated assertions. Its JWT and issuer-key toolkit, shared with the simulated vault, is
 * sim/common/jwt.
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
export { startEntra, type RunningEntra, type StartEntraOptions } from './start.ts';
