/**
 * Simulated AMD SEV-SNP platform (SecureKey simulator, never trusted by a verifier that pins AMD's
 * real roots): a fake ARK → ASK → VCEK hierarchy with real crypto and a report signer.
 */
export {
  amdName,
  buildArk,
  buildAsk,
  buildVcek,
  crlUrl,
  DEFAULT_PRODUCT_NAMES,
  fixtureRootKeys,
  KDS_BASE_URL,
  type AmdRootKeys,
  type CertOverride,
  type KeyPair,
  type VcekInput,
} from './hierarchy.ts';
export { buildCrl, type CrlOptions } from './crl.ts';
export { AmdSimError, type AmdSimErrorKind } from './errors.ts';
export {
  DEFAULT_TCB,
  FakeAmd,
  tcbHex,
  toTcb,
  type FakeAmdOptions,
  type TcbInput,
  type ThimCertification,
  type Vcek,
} from './fake-amd.ts';
export { deriveChipId, deriveVcekKey, fixtureChipSecret, randomChipSecret } from './keys.ts';
export { ReportSigner, type LaunchConfig, type ReportRequest, type SignerOptions } from './report-signer.ts';
