import {
  SCHEMA_DEFAULTS,
  type DigestStatus,
  type PolicyScheme,
  type SecureKey,
} from '../../core/api/securekey.generated.ts';
import { deploymentModeOf } from '../../core/api/mode.ts';
import {
  buildConfidentialVmPolicy,
  buildPolicy,
  policyHash,
  ReleasePolicyError,
  serializePolicy,
  type ReleasePolicy,
} from '../../core/policy/index.ts';

/** x-ms-compliance-status each scheme's platform reports when spec.attestation.complianceStatuses is unset. */
export const DEFAULT_COMPLIANCE_STATUSES: Readonly<Record<PolicyScheme, readonly string[]>> = {
  'kata-agent-policy': ['azure-signed-katacc-uvm'],
  'kata-initdata': ['azure-signed-katacc-uvm'],
  'aci-cce': ['azure-compliant-uvm'],
};

/** x-ms-isolation-tee.x-ms-compliance-status of an Azure confidential VM, node mode's default. */
export const NODE_COMPLIANCE_STATUSES: readonly string[] = ['azure-compliant-cvm'];

export type ReleasePolicyPlan =
  { ok: true; policy: ReleasePolicy; hash: string; json: string } | { ok: false; error: ReleasePolicyError };

/**
 * The release policy a SecureKey wants for `digests`, with its hash (status.policy.hash) and the JSON
 * written to the vault. A policy the core refuses (too many digests, bad authority) is a value, so the
 * caller can set PolicySynced=False with the error's kind instead of failing the whole reconcile. In node
 * mode the policy is the confidential-VM form and `digests` (empty there) play no part: the node is the TEE.
 */
export function planReleasePolicy(
  secureKey: SecureKey,
  digests: readonly (DigestStatus | string)[],
): ReleasePolicyPlan {
  const { attestation, workloads } = secureKey.spec;
  const scheme = workloads.policyScheme ?? SCHEMA_DEFAULTS['spec.workloads.policyScheme'];
  const baseClaims = (attestation.claims ?? []).map((c) => ({ claim: c.claim, equals: c.equals }));
  try {
    const policy =
      deploymentModeOf(secureKey) === 'Node'
        ? buildConfidentialVmPolicy({
            authorities: attestation.authorities,
            complianceStatuses: attestation.complianceStatuses ?? NODE_COMPLIANCE_STATUSES,
            baseClaims,
          })
        : buildPolicy({
            authorities: attestation.authorities,
            digests: digests.map((d) => (typeof d === 'string' ? d : d.digest)),
            complianceStatuses: attestation.complianceStatuses ?? DEFAULT_COMPLIANCE_STATUSES[scheme],
            baseClaims,
          });
    return { ok: true, policy, hash: policyHash(policy), json: serializePolicy(policy) };
  } catch (err) {
    if (err instanceof ReleasePolicyError) return { ok: false, error: err };
    throw err;
  }
}
