/**
 * Release policies as the vault accepts them: the core parser decides (so the simulator and SecureKey
 * agree on the grammar), the vault's messages frame its errors, and the stored form is the normalised
 * policy re-serialised in base64url, as real vaults return it (a real mHSM turned version "1.0" into
 * "1.0.0").
 */
import {
  POLICY_CONTENT_TYPE,
  ReleasePolicyError,
  decodePolicyDocument,
  parsePolicy,
  serializePolicy,
} from '../../core/policy/index.ts';
import type { ReleasePolicy } from '../../core/policy/index.ts';
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
  const normalised: ReleasePolicy = policy.version === '1.0' ? { ...policy, version: '1.0.0' } : policy;
  const w = wire as Record<string, unknown>;
  return {
    contentType: typeof w['contentType'] === 'string' ? w['contentType'] : POLICY_CONTENT_TYPE,
    data: Buffer.from(serializePolicy(normalised), 'utf8').toString('base64url'),
    immutable: w['immutable'] === true,
  };
}

/** The stored policy back as a ReleasePolicy (it was validated when stored). */
export function storedPolicy(stored: StoredReleasePolicy): ReleasePolicy {
  return parsePolicy(JSON.parse(Buffer.from(stored.data, 'base64url').toString('utf8')));
}
