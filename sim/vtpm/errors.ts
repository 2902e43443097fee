import { SecureKeyError } from '../../core/errors.ts';

export type VtpmSimErrorKind =
  /** swtpm is not installed (Debian: swtpm swtpm-tools; tpm2-tools for checks). */
  | 'swtpm-missing'
  /** swtpm did not start, or exited. */
  | 'swtpm-failed'
  /** An option the simulator cannot honour. */
  | 'bad-option';

export class VtpmSimError extends SecureKeyError<VtpmSimErrorKind> {}

/** The one install line the simulator's users are pointed to. */
export const SWTPM_PACKAGES = 'apt-get install -y swtpm swtpm-tools tpm2-tools';
