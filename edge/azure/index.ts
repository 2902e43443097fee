/**
 * The Azure edge: how the operator, the agent and the tests reach Key Vault, Managed HSM and Entra ID
 * (real or simulated) through the real Azure SDK clients.
 *
 * - `keyClientFor`, `workloadIdentityCredential`, `clientAssertionCredential`, `clientSecretCredential`,
 *   `defaultAzureCredential` (a person's own identity, for the CLI) build the SDK clients over edge/http's https agent (`*.localhost` names on
 *   loopback, only `caPem` trusted when given); credentials for a non-Microsoft authority host get
 *   `disableInstanceDiscovery: true`. The SDK itself loads on the first of these calls (or
 *   `preloadAzureSdk()`), so importing this module is cheap.
 */
export {
  clientAssertionCredential,
  clientSecretCredential,
  defaultAzureCredential,
  preloadAzureSdk,
  workloadIdentityCredential,
  type EntraClientOptions,
  type WorkloadIdentityOptions,
} from './clients.ts';
export { keyClientFor, type KeyClientForOptions, type RetryOptions } from './key-client.ts';
export {
  attestRequestBody,
  attestSevSnp,
  AttestationRequestError,
  type AttestOptions,
} from './attestation-client.ts';
export {
  AzureGuestAttestation,
  gatherAzureGuestEvidence,
  linuxOs,
  readTcgLog,
  TCG_LOG_MAX_BYTES,
  TCG_LOG_PATH,
  type AzureGuestAttestationOptions,
  type AzureGuestToken,
} from './azure-guest-client.ts';
