import { SecureKeyError } from '../errors.ts';

/**
 * Why a release policy could not be built, encoded, decoded or accepted. Validation kinds name the JSON
 * path of the offending member in `path` (e.g. `anyOf[1].allOf[0].equals`).
 */
export type ReleasePolicyErrorKind =
  // build
  /** No authority given, or one that is not an https URL in its normal form. */
  | 'no-authorities'
  | 'bad-authority'
  /** A digest that is not 64 lowercase hex characters. */
  | 'bad-digest'
  | 'no-compliance-statuses'
  /** A base claim with an empty or malformed name, a reserved name, or two different values. */
  | 'bad-claim'
  /** More digests or bytes than the policy may hold (see limits.ts). */
  | 'policy-too-large'
  // wire encoding
  /** `release_policy` is not `{contentType?, data, immutable?}` with the right types. */
  | 'bad-envelope'
  | 'bad-content-type'
  | 'bad-base64'
  /** `data` does not decode to UTF-8 JSON. */
  | 'bad-json'
  // document validation
  /** A member has the wrong JSON type (object, array, string expected). */
  | 'wrong-type'
  /** mHSM answers 400 "Key Release Policy: missing 'version' property". */
  | 'missing-version'
  | 'unsupported-version'
  /** A required member (top-level `anyOf`, `authority`, legacy `value`, …) is absent. */
  | 'missing-member'
  | 'unknown-member'
  /** An `allOf`/`anyOf` with no conditions: an empty allOf would admit every token. */
  | 'empty-list'
  /** An authority entry with neither `allOf` nor `anyOf`. */
  | 'missing-conditions'
  /** An authority entry or group with both `allOf` and `anyOf`. */
  | 'ambiguous-conditions'
  /** A claim condition with no operator. */
  | 'missing-operator'
  /** A claim condition with two operators (or an operator and the legacy form). */
  | 'multiple-operators'
  /** A legacy `condition` naming an operator other than `equals`. */
  | 'unknown-operator'
  /** A value that is not a string, number or boolean (objects, arrays and null are refused). */
  | 'bad-value'
  /** Conditions nested deeper than the parser follows. */
  | 'too-deep';

export class ReleasePolicyError extends SecureKeyError<ReleasePolicyErrorKind> {
  /** JSON path of the offending member, when the problem is inside a policy document. */
  readonly path: string | undefined;

  constructor(
    kind: ReleasePolicyErrorKind,
    message: string,
    options: { path?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(kind, options.path === undefined ? message : `release policy ${options.path}: ${message}`, options);
    this.path = options.path;
  }
}
