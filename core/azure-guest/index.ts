/** Azure guest attestation (`/attest/AzureGuest`): the request AttestationClient sends and its sealed answer. */
export * from './attestation-info.ts';
export * from './ephemeral-key.ts';
export { AzureGuestError, type AzureGuestErrorKind } from './errors.ts';
export * from './sealed-token.ts';
