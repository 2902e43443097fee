import { SecureKeyError } from '../errors.ts';

/** Why runtime data (the JWKS bound into the SNP report) could not be built, bound or read. */
export type RuntimeDataErrorKind =
  /** The runtime key is not an RSA key of at least 2048 bits, or a JWK in x-ms-runtime does not import. */
  | 'bad-runtime-key'
  /** REPORT_DATA is not 64 bytes. */
  | 'bad-report-data-length'
  /** REPORT_DATA[0:32] is not sha256(runtime data). */
  | 'report-data-mismatch'
  /** REPORT_DATA[32:64] is not all zero, as the SKR convention requires. */
  | 'report-data-upper-nonzero'
  /** The runtime data is not UTF-8 JSON describing an object (MAA's `dataType: JSON` needs one). */
  | 'runtime-data-not-json'
  /** x-ms-runtime holds no RSA key the vault would wrap to. */
  | 'no-encryption-key';

export class RuntimeDataError extends SecureKeyError<RuntimeDataErrorKind> {}
