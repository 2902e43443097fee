/**
 * Refusals of the simulated MAA, as `{"error":{"code","message","innererror":{"code"}}}`. The wire
 * `code` follows what Azure Attestation is seen to send (README "Error codes"); the `kind` — also sent
 * as `innererror.code` — says exactly what failed, so tests and logs need not parse messages.
 */
import { SecureKeyError } from '../../core/errors.ts';
import type { RuntimeDataErrorKind } from '../../core/runtime-data/errors.ts';
import type { SnpFormatErrorKind, SnpVerifyErrorKind } from '../../core/snp/index.ts';
import type { UvmEndorsementErrorKind } from '../../core/uvm/index.ts';

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
  /** `Endorsements` is not `{"Uvm": ["<base64url COSE_Sign1>", …]}`. */
  | 'bad-endorsements'
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
  | 'bad-configuration'
  /** AzureGuest: the AttestationInfo is not what AttestationClient sends (core/azure-guest names the field). */
  | 'bad-request'
  /** AzureGuest: the HCL runtime claims are not a JSON object with an RSA `HCLAkPub`. */
  | 'bad-runtime-claims'
  /** AzureGuest: TpmInfo.AikPub is not the AK the HCL report's runtime claims vouch for. */
  | 'ak-mismatch'
  /** AzureGuest: the AK certificate is not for the AK or not issued by the trusted vTPM CA. */
  | 'ak-cert-untrusted'
  /** AzureGuest: PcrQuote is not a quote signed by the AK. */
  | 'quote-signature-invalid'
  /** AzureGuest: the quote's qualifying data is not the binding of ClientPayload's nonce. */
  | 'nonce-mismatch'
  /** AzureGuest: a nonce this instance has already attested. */
  | 'nonce-replayed'
  /** AzureGuest: the PCR values sent do not hash to the quote's digest, or are not the quoted PCRs. */
  | 'pcr-mismatch'
  /** AzureGuest: TcgLogs is empty, not a crypto-agile log, or an event's data does not hash to its digest. */
  | 'tcg-log-invalid'
  /** AzureGuest: the TCG log's sha256 replay is not the quoted PCR values. */
  | 'tcg-log-mismatch'
  /** AzureGuest: EncKeyCertifyInfo is not the AK's certification of EncKeyPub (or the key is not a TPM decryption key). */
  | 'enc-key-not-certified'
  /** AzureGuest: genuine evidence of a CVM that the instance does not count as Azure-compliant. */
  | 'not-compliant';

export type MaaErrorKind =
  | MaaRequestErrorKind
  | UvmEndorsementErrorKind
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
