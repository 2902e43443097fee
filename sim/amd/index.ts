/**
 * Simulated AMD SEV-SNP platform (SecureKey simulator, never trusted by a verifier that pins AMD's
 * real roots): a fake ARK → ASK → VCEK hierarchy with real crypto and a report signer.
 */
export { buildArk, buildAsk, buildVcek, type CertOverride, type VcekInput } from './certificates.ts';
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
export {
  deriveChipId,
  deriveVcekKey,
  fixtureChipSecret,
  fixtureRootKeys,
  generateRootKeys,
  randomChipSecret,
  type AmdRootKeys,
  type KeyPair,
} from './keys.ts';
export { amdName, crlUrl, DEFAULT_PRODUCT_NAMES, KDS_BASE_URL } from './names.ts';
export { ReportSigner, type LaunchConfig, type ReportRequest, type SignerOptions } from './report-signer.ts';
