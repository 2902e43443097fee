import { SecureKeyError } from '../errors.ts';

/** Bytes that are not a well-formed SNP structure (report, TCB, signature, cert table, VCEK extensions). */
export type SnpFormatErrorKind =
  /** The report is not exactly 0x4A0 bytes. */
  | 'bad-length'
  /** VERSION is not 1, 2, 3, 4 or 5. */
  | 'unsupported-version'
  /** A reserved / must-be-zero byte is not zero; the message names the offset. */
  | 'reserved-nonzero'
  /** POLICY bit 17 clear or a bit in 26–63 set. */
  | 'bad-policy'
  /** PLATFORM_INFO with a reserved bit set. */
  | 'bad-platform-info'
  /** The signer info dword (0x48) with a reserved SIGNING_KEY value or bits 5–31 set. */
  | 'bad-signer-info'
  /** SIGNATURE_ALGO is not 1 (ECDSA P-384 with SHA-384). */
  | 'bad-signature-algo'
  /** r or s not a valid P-384 scalar, or non-zero bytes past the 48th in AMD's 72-byte form. */
  | 'bad-signature-encoding'
  /** A field given to the serialiser has the wrong size or range, or does not fit the version. */
  | 'bad-field'
  /** A TCB component out of range or not representable in the product's layout. */
  | 'bad-tcb'
  /** CPUID family/model or certificate name that maps to no known SNP product. */
  | 'unknown-product'
  /** A GHCB certificate table that is truncated, unterminated or points outside itself. */
  | 'bad-cert-table'
  /** A VCEK/VLEK KDS extension with the wrong ASN.1 type, size or range. */
  | 'bad-kds-extension';

export class SnpFormatError extends SecureKeyError<SnpFormatErrorKind> {
  /** Offset in the structure of the offending bytes, when there is one. */
  readonly offset: number | undefined;

  constructor(
    kind: SnpFormatErrorKind,
    message: string,
    options: { offset?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(kind, message, options);
    this.offset = options.offset;
  }
}

/** Evidence that is not genuine: signature or certificate chain up to the pinned AMD root fails. */
export type SnpVerifyErrorKind =
  /** The report's ECDSA signature does not verify with the VCEK. */
  | 'signature-invalid'
  /** The presented ARK is neither the pinned ARK's DER nor its public key. */
  | 'untrusted-root'
  /** An ASK (CN SEV-<product>) where the ARK belongs. */
  | 'ask-in-ark-slot'
  /** An ARK (CN ARK-<product>) where the ASK belongs. */
  | 'ark-in-ask-slot'
  /** Any other certificate in the wrong position (a VCEK as ASK, an unknown CN, ...). */
  | 'wrong-slot'
  /** A certificate signature in the chain (ARK self-signature included) does not verify. */
  | 'chain-signature-invalid'
  /** A chain link not signed with RSASSA-PSS SHA-384 / MGF1-SHA-384 / salt 48. */
  | 'unsupported-algorithm'
  /** Subject or issuer attributes differ from AMD's (CN per role, O/OU/L/ST/C once each). */
  | 'subject-mismatch'
  /** ARK/ASK not RSA-4096, or VCEK not EC P-384. */
  | 'bad-key'
  /** The products named by the report, the chain, the VCEK and the caller disagree. */
  | 'product-mismatch'
  /** A VCEK SPL extension differs from the report's REPORTED_TCB, or one is missing. */
  | 'tcb-mismatch'
  /** The VCEK hwID differs from the report's CHIP_ID. */
  | 'chip-id-mismatch'
  /** A certificate's notAfter is before the verification time. */
  | 'expired'
  /** A certificate's notBefore is after the verification time. */
  | 'not-yet-valid'
  /** The report's SIGNING_KEY (VCEK, VLEK, none) does not match the chain's leaf. */
  | 'unsupported-signing-key';

export class SnpVerifyError extends SecureKeyError<SnpVerifyErrorKind> {}

/** A genuine report that the appraisal policy does not accept. */
export type SnpValidationErrorKind =
  | 'debug-enabled'
  | 'migration-agent-enabled'
  | 'vmpl-mismatch'
  | 'tcb-below-minimum'
  | 'host-data-mismatch'
  | 'report-data-mismatch'
  | 'measurement-not-allowed';

export class SnpValidationError extends SecureKeyError<SnpValidationErrorKind> {}
