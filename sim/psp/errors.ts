import { SecureKeyError } from '../../core/errors.ts';

/** Why the simulated PSP refused a report request; each maps to one HTTP status. */
export type PspErrorKind =
  /** No bearer token, or one the API server does not accept for the PSP's audience (401). */
  | 'unauthenticated'
  /** The token's pod no longer exists, or a pod of that name now has another uid (403). */
  | 'pod-gone'
  /** The pod runs under another service account than the token names (403). */
  | 'service-account-mismatch'
  /** The request body is not `{reportData, vmpl?}` (400). */
  | 'bad-request'
  /** The body tried to choose HOST_DATA, which only the host sets (400). */
  | 'host-data-not-allowed'
  /** The pod's policy annotation is missing or malformed: no HOST_DATA can be computed (422). */
  | 'bad-policy-annotation'
  /** The pod's namespace is not one this PSP serves (403): mocked mode's only isolation. */
  | 'namespace-not-allowed'
  /** The Kubernetes API could not be asked (503). */
  | 'unavailable';

export const PSP_ERROR_STATUS: Readonly<Record<PspErrorKind, number>> = {
  unauthenticated: 401,
  'pod-gone': 403,
  'service-account-mismatch': 403,
  'bad-request': 400,
  'host-data-not-allowed': 400,
  'bad-policy-annotation': 422,
  'namespace-not-allowed': 403,
  unavailable: 503,
};

/** The `error.code` each kind is answered with. */
export const PSP_ERROR_CODE: Readonly<Record<PspErrorKind, string>> = {
  unauthenticated: 'Unauthorized',
  'pod-gone': 'Forbidden',
  'service-account-mismatch': 'Forbidden',
  'namespace-not-allowed': 'Forbidden',
  'bad-request': 'BadRequest',
  'host-data-not-allowed': 'HostDataNotAllowed',
  'bad-policy-annotation': 'InvalidPolicyAnnotation',
  unavailable: 'ServiceUnavailable',
};

export class PspError extends SecureKeyError<PspErrorKind> {
  get status(): number {
    return PSP_ERROR_STATUS[this.kind];
  }
}
