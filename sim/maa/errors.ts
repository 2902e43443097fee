/**
 * Refusals of the simulated MAA, as `{"error":{"code","message","innererror":{"code"}}}`. The wire
 * `code` follows what Azure Attestation is seen to send (README "Error codes"); the `kind` — also sent
 * as `innererror.code` — says exactly what failed, so tests and logs need not parse messages.
 */
import { SecureKeyError } from '../../core/errors.ts';
import type { RuntimeDataErrorKind } from '../../core/runtime-data/errors.ts';
import type { SnpFormatErrorKind, SnpVerifyErrorKind } from '../../core/snp/index.ts';

/** The CloudError codes the simulator answers with. */
export type MaaErrorCode =
  /** The request is malformed, or its parts contradict each other (runtime or init-time data not bound). */
  | 'InvalidParameter'
  /** The SNP evidence is not genuine or not well formed (report, signature, VCEK chain, TCB, chip). */
  | 'InvalidQuote'
  /** Genuine evidence that the instance's attestation policy denies (here: a debuggable guest). */
  | 'PolicyEvaluationError'
  | 'MissingApiVersionParameter'
  | 'UnsupportedApiVersion'
  | 'NotFound'
  | 'NotImplemented'
  | 'RequestEntityTooLarge';

const STATUS: Record<MaaErrorCode, number> = {
  InvalidParameter: 400,
  InvalidQuote: 400,
  PolicyEvaluationError: 400,
  MissingApiVersionParameter: 400,
  UnsupportedApiVersion: 400,
  NotFound: 404,
  RequestEntityTooLarge: 413,
  NotImplemented: 501,
};

/** What the simulator itself checks about the request. */
export type MaaRequestErrorKind =
  | 'missing-api-version'
  | 'unsupported-api-version'
  /** `/attest/<type>` for a type other than SevSnpVm. */
  | 'unsupported-attestation-type'
  | 'not-found'
  | 'body-too-large'
  /** The body is not UTF-8 JSON describing an object. */
  | 'body-not-json'
  | 'missing-field'
  | 'wrong-type'
  /** A base64 field that is neither base64url nor standard base64. */
  | 'bad-base64'
  /** `report` does not decode to the JSON object `{SnpReport, VcekCertChain[, Endorsements]}`. */
  | 'report-not-json'
  /** `Endorsements` does not decode to a JSON object. */
  | 'endorsements-not-json'
  /** A `dataType` other than JSON or Binary. */
  | 'bad-data-type'
  /** `initTimeData` of type JSON that is not a JSON object. */
  | 'init-time-data-not-json'
  /** A request member the simulator does not implement (e.g. `draftPolicyForAttestation`). */
  | 'unsupported-field'
  /** `VcekCertChain` does not hold exactly three parseable certificates. */
  | 'bad-certificate-chain'
  /** sha256(initTimeData) differs from the report's HOST_DATA. */
  | 'host-data-mismatch'
  /** The report has POLICY.DEBUG set and the instance refuses debuggable guests. */
  | 'debug-refused'
  /** startMaa options that cannot work (e.g. a trusted "ARK" that is not an ARK). */
  | 'bad-configuration';

export type MaaErrorKind =
  | MaaRequestErrorKind
  | SnpVerifyErrorKind
  | SnpFormatErrorKind
  | Extract<
      RuntimeDataErrorKind,
      'report-data-mismatch' | 'report-data-upper-nonzero' | 'runtime-data-not-json'
    >;

export class MaaError extends SecureKeyError<MaaErrorKind> {
  readonly code: MaaErrorCode;
  readonly status: number;

  constructor(
    code: MaaErrorCode,
    kind: MaaErrorKind,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(kind, message, options);
    this.code = code;
    this.status = STATUS[code];
  }
}

export const invalidParameter = (kind: MaaErrorKind, message: string, hint?: string): MaaError =>
  new MaaError('InvalidParameter', kind, message, hint === undefined ? {} : { hint });
