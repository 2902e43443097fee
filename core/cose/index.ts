export { CborTag, decodeCbor, encodeCbor, type CborLimits, type CborValue } from './cbor.ts';
export {
  COSE_ALGORITHMS,
  COSE_SIGN1_TAG,
  coseAlgorithm,
  decodeCoseSign1,
  HEADER,
  MAX_COSE_SIGN1_BYTES,
  sigStructure,
  signCoseSign1,
  verifyCoseSign1,
  type CoseAlgorithmId,
  type CoseSign1,
  type HeaderMap,
} from './cose-sign1.ts';
export { CoseError, type CoseErrorKind } from './errors.ts';
