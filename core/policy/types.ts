/**
 * The Azure Key Vault / Managed HSM secure key release policy document (the JSON inside
 * `release_policy.data`). Grammar: `key-management-policy-grammar.md` (azure-security-docs); values seen
 * in published policies are in `published-examples.ts`.
 */

/**
 * `version` values seen in public material: "1.0.0" is the documented one, "1.0" was normalised to
 * "1.0.0" by a real mHSM, "0.2" appears in the sidecar's mHSM example. mHSM refuses a policy without one.
 */
export const POLICY_VERSIONS = ['0.2', '1.0', '1.0.0'] as const;
export type PolicyVersion = (typeof POLICY_VERSIONS)[number];

/** The version every policy we build carries. */
export const BUILD_VERSION: PolicyVersion = '1.0.0';

/** The seven operators of the grammar's EBNF. Only `equals` is proven in production. */
export const OPERATORS = [
  'equals',
  'notEquals',
  'less',
  'lessOrEquals',
  'greater',
  'greaterOrEquals',
  'exists',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** The grammar's `value`: JSON string, number, true or false. Objects, arrays and null are not values. */
export type ClaimValue = string | number | boolean;

/** `{"claim": "<name>", "<operator>": <value>}`; dots in the name walk into nested claims. */
export type OperatorCondition = {
  [O in Operator]: { claim: string } & { [K in O]: ClaimValue };
}[Operator];

/** The 2021 form, `{"claim", "condition": "equals", "value"}` (7.4 REST spec example, early SDK tests). */
export interface LegacyCondition {
  claim: string;
  condition: 'equals';
  value: ClaimValue;
}

export type ClaimCondition = OperatorCondition | LegacyCondition;

export interface AllOfCondition {
  allOf: Condition[];
}

export interface AnyOfCondition {
  anyOf: Condition[];
}

export type Condition = ClaimCondition | AllOfCondition | AnyOfCondition;

/** One `anyOf` entry: an issuer and exactly one of `allOf` / `anyOf`. */
export type AuthorityEntry = { authority: string } & (AllOfCondition | AnyOfCondition);

export interface ReleasePolicy {
  version: PolicyVersion;
  anyOf: AuthorityEntry[];
}

/** `release_policy` as the vault's REST API carries it (7.4 `KeyReleasePolicy`). */
export interface WireReleasePolicy {
  contentType: string;
  /** base64url of the policy JSON; the vault also accepts standard base64. */
  data: string;
  /** Once true the vault never lets the policy change again. */
  immutable?: boolean;
}
