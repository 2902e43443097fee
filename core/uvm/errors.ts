import { SecureKeyError } from '../errors.ts';

export type UvmEndorsementErrorKind =
  /** Not base64 of a COSE_Sign1, or a COSE_Sign1 whose headers or payload are not reference info. */
  | 'bad-reference-info'
  /** A did:x509 that does not parse, or uses a hash or policy this code does not resolve. */
  | 'bad-did'
  /** The x5chain does not resolve the issuer's did:x509 (no CA with that fingerprint, leaf lacks the EKU). */
  | 'did-mismatch'
  /** The x5chain is broken, expired, or does not end at a trusted UVM signing root. */
  | 'untrusted-chain'
  /** The COSE signature does not verify with the x5chain's leaf. */
  | 'signature-invalid'
  /** Not the feed, or not the issuer, the verifier accepts. */
  | 'wrong-feed'
  /** The endorsed launch measurement is not the report's MEASUREMENT. */
  | 'measurement-mismatch';

export class UvmEndorsementError extends SecureKeyError<UvmEndorsementErrorKind> {}
