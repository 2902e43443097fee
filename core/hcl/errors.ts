import { SecureKeyError } from '../errors.ts';

/** Why an HCL report (Azure's paravisor report at vTPM NV 0x01400001) was refused. */
export type HclReportErrorKind =
  /** Shorter than the fixed part, or a size field that runs past the bytes. */
  | 'bad-size'
  /** The header's signature is not `HCLA`. */
  | 'bad-signature'
  /** Header or IGVM request data version other than 1. */
  | 'unsupported-version'
  /** The hardware report is not an SNP report (report type 2); TDX is 4. */
  | 'not-snp'
  /** The REPORT_DATA hash type is not SHA-256 (1), the only one Azure's SNP HCL uses. */
  | 'unsupported-hash-type'
  /** The SNP report in the HCL report does not parse (core/snp says why, in `cause`). */
  | 'bad-snp-report'
  /** REPORT_DATA[0:32] is not SHA-256 of the variable data: the runtime claims are not the ones the report signs. */
  | 'binding-mismatch'
  /** The variable data is not a UTF-8 JSON object. */
  | 'runtime-claims-not-json'
  /** The runtime claims name no usable `HCLAkPub` RSA key. */
  | 'no-ak-pub'
  /** A field given to the builder does not fit the layout. */
  | 'bad-field';

export class HclReportError extends SecureKeyError<HclReportErrorKind> {}
