/**
 * Simulated AMD SEV-SNP platform (SecureKey simulator, never trusted by a verifier that pins AMD's
 * real roots): a fake ARK → ASK → VCEK (and ARK → ASVK → VLEK) hierarchy with real crypto and a
 * report signer.
 */
export {
  amdName,
  buildArk,
  buildAsk,
  buildAsvk,
  buildVcek,
  buildVlek,
  crlUrl,
  DEFAULT_PRODUCT_NAMES,
  fixtureAsvkKey,
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
  type EndorsementKey,
  type FakeAmdOptions,
  type TcbInput,
  type ThimCertification,
  type Vcek,
} from './fake-amd.ts';
export { deriveChipId, deriveVcekKey, deriveVlekKey, fixtureChipSecret, randomChipSecret } from './keys.ts';
export { ReportSigner, type LaunchConfig, type ReportRequest, type SignerOptions } from './report-signer.ts';
