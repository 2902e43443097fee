/**
 * What the reconcile does differently in node mode (ADR 37): the node is the TEE, so the release policy
 * names no pods (no digests, no proposals, no pod conditions) and the node agent decides per pod. Mode is
 * immutable, so a SecureKey never carries pod-mode status into node mode.
 */
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { deploymentModeOf } from '../../core/api/mode.ts';
import type { DesiredDigests } from './desired-digests.ts';
import { NODE_COMPLIANCE_STATUSES } from './release-policy-plan.ts';

export const isNodeMode = (secureKey: SecureKey): boolean => deploymentModeOf(secureKey) === 'Node';

/** Node mode's desired digests: none, whatever pods run (the policy admits confidential VMs). */
export function noPodDigests(): DesiredDigests {
  return { digests: [], proposed: [], problems: [], refused: [] };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** PolicySynced's message in node mode: what the release policy admits, since it lists no digests. */
export function nodePolicySummary(secureKey: SecureKey): string {
  const { authorities, complianceStatuses, claims } = secureKey.spec.attestation;
  const statuses = [...new Set(complianceStatuses ?? NODE_COMPLIANCE_STATUSES)].sort();
  const extra = claims?.length ?? 0;
  return (
    `release policy admits SEV-SNP confidential VMs (${statuses.join(', ')}) attested by ` +
    `${plural(new Set(authorities).size, 'authority', 'authorities')}` +
    `${extra > 0 ? ` meeting ${plural(extra, 'further claim', 'further claims')}` : ''}; ` +
    'the node agent serves the key to the pods this SecureKey admits'
  );
}
