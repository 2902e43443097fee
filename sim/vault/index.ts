/**
 * Simulated Azure Key Vault (Premium) and Managed HSM — SecureKey simulators, never real vaults: the
 * keys REST subset the real `@azure/keyvault-keys` KeyClient uses, bearer authentication against the
 * simulated Entra ID, per-identity roles, Secure Key Release verified and wrapped with the core, fault
 * injection, and state in memory or in a JSON file.
 */
export {
  PERMISSION,
  authorize,
  rolesOf,
  type Principal,
  type RoleAssignment,
  type VaultRole,
} from './access.ts';
export { API_VERSIONS, LATEST_API_VERSION, apiVersionOf, type ApiVersion } from './api-version.ts';
export { vaultApp, type VaultAppOptions } from './app.ts';
export { verifyTarget, type TargetCheckOptions } from './attestation.ts';
export { accessTokenIssuer, authenticate, challengeHeader, type BearerAuthOptions } from './bearer-auth.ts';
export { VaultError, type VaultErrorCode } from './errors.ts';
export { keyBundle, type BundleContext } from './key-bundle.ts';
export {
  releaseJws,
  type ReleaseRequestEcho,
  type ReleasedKey,
  type VaultSigner,
} from './release-response.ts';
export { OPERATIONS, routeOf, type VaultOperation, type VaultRoute } from './routes.ts';
export { STATE_FORMAT, type VaultFlavour, type VaultState } from './state.ts';
export { VaultStats } from './stats.ts';
export { FileStore, MemoryStore, type VaultStore } from './store.ts';
export { startVault, type RunningVault, type StartVaultOptions, type VaultInspection } from './start.ts';
export { VaultService, type VaultServiceOptions } from './vault-service.ts';
