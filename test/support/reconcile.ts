import { createHash } from 'node:crypto';
import type { SecureKey, SecureKeySpec } from '../../core/api/securekey.generated.ts';
import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';
import { AGENT_CONTAINER, KEY_ANNOTATION_PREFIX } from '../../core/inject/annotations.ts';
import { INJECT_LABEL, INJECT_LABEL_VALUE } from '../../operator/reconcile/constants.ts';
import { trimPod, type ObservedPod } from '../../core/workload/observed-pod.ts';

/** Builders of SecureKeys and pods for the reconciler's specs. */

export const MAA = 'https://sharedeus.eus.attest.azure.net';

export function secureKey(
  workloads: Partial<SecureKeySpec['workloads']> = {},
  spec: Partial<SecureKeySpec> = {},
): SecureKey {
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { namespace: 'shop', name: 'db-key', generation: 3 },
    spec: {
      vault: { url: 'https://contoso.vault.azure.net' },
      key: { name: 'db-key', type: 'RSA-HSM' },
      attestation: { authorities: [MAA] },
      // Specs about selection and retention run under Observed; approval specs ask for Signed.
      workloads: { approval: 'Observed', ...workloads },
      ...spec,
    },
  };
}

/** A Rego-style policy text as its annotation value and the digest a pod with it has. */
export function policy(text: string): { annotation: string; digest: string } {
  const bytes = Buffer.from(text, 'utf8');
  return { annotation: bytes.toString('base64'), digest: createHash('sha256').update(bytes).digest('hex') };
}

export interface PodOverrides extends Partial<Omit<ObservedPod, 'policies'>> {
  /** Raw annotations, digested the way the informer does (replaces the policy from `policyText`). */
  annotations?: Record<string, string>;
}

/**
 * An opted-in pod in `shop` that passes every pod-admission check for SecureKey db-key (bound to a node,
 * kata-cc-isolation, carrying the agent, asking for db-key), trimmed as the informer trims it.
 */
export function pod(name: string, policyText: string | undefined, over: PodOverrides = {}): ObservedPod {
  const { annotations: raw, ...rest } = over;
  const annotations: Record<string, string> = {};
  if (policyText !== undefined)
    annotations[POLICY_ANNOTATIONS['kata-agent-policy']] = policy(policyText).annotation;
  const trimmed = trimPod({
    metadata: {
      namespace: 'shop',
      name,
      uid: `uid-${name}`,
      labels: { [INJECT_LABEL]: INJECT_LABEL_VALUE, app: 'db' },
      annotations: { [`${KEY_ANNOTATION_PREFIX}db`]: 'db-key', ...(raw ?? annotations) },
    },
    spec: {
      nodeName: 'node-1',
      runtimeClassName: 'kata-cc-isolation',
      initContainers: [{ name: AGENT_CONTAINER, image: 'example.invalid/agent:1' }],
      containers: [{ name: 'app', image: 'example.invalid/app:1' }],
    },
    status: { phase: 'Running' },
  });
  return { ...trimmed, ...rest };
}

/** `n` distinct 64-hex digests. */
export function digests(n: number, salt = 'd'): string[] {
  return Array.from({ length: n }, (_, i) => createHash('sha256').update(`${salt}${i}`).digest('hex'));
}
