export { parseDidX509, resolveDidX509, type DidX509 } from './did-x509.ts';
export { verifyUvmEndorsement, type EndorsementPolicy, type VerifiedEndorsement } from './endorsement.ts';
export { UvmEndorsementError, type UvmEndorsementErrorKind } from './errors.ts';
export {
  decodeReferenceInfoFile,
  parseReferenceInfo,
  REFERENCE_INFO_FILE,
  UVM_FEED,
  UVM_SIGNING_EKU,
  type ReferenceInfo,
} from './reference-info.ts';
