/**
 * Simulated Azure IMDS managed-identity endpoint (a SecureKey simulator): tokens of the configured
 * managed identities, issued by a simulated Entra ID tenant.
 */
export { IMDS_TOKEN_PATH, imdsApp, type ImdsAppOptions } from './app.ts';
export {
  ImdsService,
  MISSING_METADATA_HEADER,
  type ImdsAnswer,
  type ImdsOptions,
  type ManagedIdentity,
} from './imds-service.ts';
export { startImds, type RunningImds, type StartImdsOptions } from './start.ts';
