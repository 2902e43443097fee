/** TPM devices: the transports (kernel device, swtpm socket), a typed TPM client and Azure's vTPM. */
export { AZURE_VTPM, AzureVtpm, type AzureVtpmOptions, type EphemeralKey, type Quote } from './azure-vtpm.ts';
export { TpmTransportError, type TpmTransportErrorKind } from './errors.ts';
export { Tpm } from './tpm.ts';
export {
  deviceTransport,
  openTransport,
  socketTransport,
  type SocketAddress,
  type TpmTransport,
  type TransportOptions,
} from './transport.ts';
