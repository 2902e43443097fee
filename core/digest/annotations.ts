import type { PolicyScheme } from '../api/securekey.generated.ts';

/**
 * Where each policy scheme keeps a pod's security policy. The host pins HOST_DATA from this
 * annotation at launch, so its digest is what a release policy must admit.
 */
export const POLICY_ANNOTATIONS: Readonly<Record<PolicyScheme, string>> = {
  // AKS Confidential Containers (Kata, genpolicy): base64 of the Rego policy text.
  'kata-agent-policy': 'io.katacontainers.config.agent.policy',
  // Upstream Kata / CoCo initdata: base64 of gzip of an initdata TOML document.
  'kata-initdata': 'io.katacontainers.config.hypervisor.cc_init_data',
  // Virtual nodes on Confidential ACI: base64 of the CCE Rego policy.
  'aci-cce': 'microsoft.containerinstance.virtualnode.ccepolicy',
};
