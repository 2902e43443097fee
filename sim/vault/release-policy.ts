/**
 * Release policies as the vault accepts them: the core parser decides (so the simulator and SecureKey
 * agree on the grammar), the vault's messages frame its errors, and the stored form is the normalised
 * policy re-serialised in base64url, as real vaults return it. A real Managed HSM (Azure SDK
 * recordings, 2021) turned version "1.0" into "1.0.0" and the legacy condition
 * `{"claim","condition":"equals","value"}` into `{"claim","equals"}`, and every policy it returned had
 * its members in alphabetical order.
 */
import {
  canonicalJson,
  POLICY_CONTENT_TYPE,
  ReleasePolicyError,
  decodePolicyDocument,
  parsePolicy,
} from '../../core/policy/index.ts';
import type { Condition, ReleasePolicy } from '../../core/policy/index.ts';
import { badParameter } from './errors.ts';
import type { StoredReleasePolicy } from './state.ts';

/** True when the request carries a policy at all (an envelope without data counts as none). */
export function hasPolicyData(wire: unknown): boolean {
  return (
    typeof wire === 'object' &&
    wire !== null &&
    typeof (wire as Record<string, unknown>)['data'] === 'string' &&
    (wire as Record<string, unknown>)['data'] !== ''
  );
}

export function acceptReleasePolicy(wire: unknown): StoredReleasePolicy {
  let policy: ReleasePolicy;
  try {
    policy = parsePolicy(decodePolicyDocument(wire));
  } catch (err) {
    if (!(err instanceof ReleasePolicyError)) throw err;
    if (err.kind === 'missing-version') throw badParameter("Key Release Policy: missing 'version' property");
    throw badParameter(`Key Release Policy: ${err.message}`);
  }
  const w = wire as Record<string, unknown>;
  return {
    contentType: typeof w['contentType'] === 'string' ? w['contentType'] : POLICY_CONTENT_TYPE,
    // Members sorted, as every policy a real Managed HSM returned.
    data: Buffer.from(canonicalJson(normalisePolicy(policy)), 'utf8').toString('base64url'),
    immutable: w['immutable'] === true,
  };
}

/** A condition with the legacy form rewritten as `equals`, as the vault stores it. */
function normaliseCondition(c: Condition): Condition {
  if ('allOf' in c) return { allOf: c.allOf.map(normaliseCondition) };
  if ('anyOf' in c) return { anyOf: c.anyOf.map(normaliseCondition) };
  if ('condition' in c) return { claim: c.claim, equals: c.value };
  return c;
}

/** The policy as the vault answers it: version "1.0" as "1.0.0", legacy conditions as `equals`. */
export function normalisePolicy(policy: ReleasePolicy): ReleasePolicy {
  return {
    version: policy.version === '1.0' ? '1.0.0' : policy.version,
    anyOf: policy.anyOf.map((entry) =>
      'allOf' in entry
        ? { authority: entry.authority, allOf: entry.allOf.map(normaliseCondition) }
        : { authority: entry.authority, anyOf: entry.anyOf.map(normaliseCondition) },
    ),
  };
}

/** The stored policy back as a ReleasePolicy (it was validated when stored). */
export function storedPolicy(stored: StoredReleasePolicy): ReleasePolicy {
  return parsePolicy(JSON.parse(Buffer.from(stored.data, 'base64url').toString('utf8')));
}
