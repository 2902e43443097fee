import { SCHEMA_DEFAULTS, type DeploymentMode, type SecureKey } from './securekey.generated.ts';

/**
 * A SecureKey's deployment mode with the schema's default (ADR 37): Pod, each pod its own SEV-SNP VM;
 * Node, the node a confidential VM whose node agent serves the pods.
 */
export function deploymentModeOf(secureKey: Pick<SecureKey, 'spec'>): DeploymentMode {
  return secureKey.spec.mode ?? SCHEMA_DEFAULTS['spec.mode'];
}
