export { POLICY_ANNOTATIONS } from './annotations.ts';
export { DigestError, type DigestErrorKind } from './errors.ts';
export {
  INITDATA_ALGORITHMS,
  INITDATA_VERSION,
  MAX_INITDATA_HEADER_BYTES,
  readInitdataHeader,
  type InitdataAlgorithm,
} from './initdata.ts';
export { detectPolicyScheme, policyDigest, type PolicyDigest } from './policy-digest.ts';
export { PolicyDigestMemo, policyDigests } from './memo.ts';
