/**
 * The instance's attestation policy, as far as the simulator has one: its text (in MAA's policy
 * language, for `x-ms-policy-hash`) and whether it denies debuggable guests. The simulator does not
 * evaluate policy text; `refuseDebug` is the one rule it enforces (evidence.ts).
 */
import crypto from 'node:crypto';

/** MAA's default policy: permit everything, issue nothing extra. */
export const PERMIT_ALL_POLICY = `version= 1.0;
authorizationrules
{
    => permit();
};
issuancerules
{
};`;

/** The same, with a rule denying guests whose POLICY.DEBUG bit is set. */
export const DENY_DEBUG_POLICY = `version= 1.0;
authorizationrules
{
    [type=="x-ms-sevsnpvm-is-debuggable", value==true] => deny();
    => permit();
};
issuancerules
{
};`;

/** `x-ms-policy-hash` = BASE64URL(SHA256(UTF8(BASE64URL(UTF8(policy text))))) (MAA claim-sets doc). */
export function policyHashClaim(policyText: string): string {
  const encoded = Buffer.from(policyText, 'utf8').toString('base64url');
  return crypto.createHash('sha256').update(encoded, 'utf8').digest('base64url');
}
