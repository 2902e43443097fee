export {
  AMD_ASK_ARK_PEMS,
  AMD_GENOA_ASK_ARK_PEM,
  AMD_MILAN_ASK_ARK_PEM,
  AMD_TURIN_ASK_ARK_PEM,
  amdRoots,
  type AmdRoots,
} from './amd-roots.ts';
export {
  buildCertTable,
  CERT_TABLE_GUIDS,
  findCertTableEntry,
  parseCertTable,
  type CertTableEntry,
  type CertTableName,
} from './cert-table.ts';
export {
  chainFromPem,
  identifyAmdCertificate,
  toCertificate,
  type AmdCertificateIdentity,
  type AmdCertificateRole,
  type CertificateSource,
  type VcekChain,
} from './chain.ts';
export {
  SnpFormatError,
  SnpValidationError,
  SnpVerifyError,
  type SnpFormatErrorKind,
  type SnpValidationErrorKind,
  type SnpVerifyErrorKind,
} from './errors.ts';
export {
  decodeKdsExtensions,
  encodeKdsExtensions,
  KDS_OIDS,
  SPL_NAMES,
  type EncodeKdsOptions,
  type KdsExtensions,
  type SplName,
} from './kds.ts';
export { OFFSET, REPORT_SIZE, SIGNATURE_ALGO_ECDSA_P384_SHA384, SIGNED_LENGTH, SIZE } from './layout.ts';
export {
  decodeGuestPolicy,
  decodePlatformInfo,
  decodeSignerInfo,
  encodeGuestPolicy,
  encodePlatformInfo,
  encodeSignerInfo,
  type GuestPolicy,
  type PlatformInfo,
  type SignerInfo,
  type SigningKey,
} from './policy.ts';
export {
  blankReport,
  parseReport,
  serializeReport,
  SUPPORTED_REPORT_VERSIONS,
  type AttestationReport,
  type FirmwareVersion,
  type ParseReportOptions,
  type ReportSignature,
} from './report.ts';
export {
  amdSignatureToDer,
  amdSignatureToP1363,
  derToAmdSignature,
  P384_ORDER,
  p1363ToAmdSignature,
  readReportSignature,
  signReport,
} from './signature.ts';
export {
  composeTcb,
  decomposeTcb,
  isSnpProduct,
  PRODUCT_CPUID,
  productFromCpuid,
  SNP_PRODUCTS,
  tcbLayout,
  type CpuidFms,
  type SnpProduct,
  type TcbLayout,
  type TcbParts,
  type TcbPartsInput,
} from './tcb.ts';
export { validateReport, type TcbComponent, type ValidationOptions } from './validate.ts';
export {
  checkReportAgainstVcek,
  verifyAttestation,
  verifyReportSignature,
  type Evidence,
  type VerifiedAttestation,
} from './verify.ts';
export {
  AMD_NAME_ATTRIBUTES,
  verifyVcekChain,
  type VerifiedChain,
  type VerifyChainOptions,
} from './verify-chain.ts';
