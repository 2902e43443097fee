/**
 * The Azure edge: how the operator, the agent and the tests reach Key Vault, Managed HSM and Entra ID
 * (real or simulated) through the real Azure SDK clients.
 *
 * - `loopbackLookup` resolves `*.localhost` to loopback (RFC 6761 §6.3), everything else via DNS.
 * - `httpsAgent({caPem})` uses it and trusts exactly `caPem` when given (system roots otherwise).
 * - `keyClientFor`, `workloadIdentityCredential`, `clientAssertionCredential`, `clientSecretCredential`
 *   build the SDK clients over that agent; credentials for a non-Microsoft authority host get
 *   `disableInstanceDiscovery: true`. The SDK itself loads on the first of these calls (or
 *   `preloadAzureSdk()`), so importing this module is cheap.
 */
export { isLoopbackName, loopbackLookup } from './loopback-lookup.ts';
export { httpsAgent, type HttpsAgentOptions } from './https-agent.ts';
export {
  clientAssertionCredential,
  clientSecretCredential,
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
