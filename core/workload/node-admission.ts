/**
 * Whether a node-mode SecureKey serves a pod (ADR 39): the node agent decides with this for each key a
 * pod asks for, and `securekey explain` answers with it. Pure: the SecureKey and the pod as the API
 * server holds them, the approvals checked by the caller's verifier.
 */
import { deploymentModeOf } from '../api/mode.ts';
import type { SecureKey } from '../api/securekey.generated.ts';
import { checkApprovals, judgeApprovals, NODE_CONTAINERS_SCHEME, type Approver } from '../approval/index.ts';
import { SecureKeyError } from '../errors.ts';
import { containerDigest, kubeletMismatch } from './container-digest.ts';
import { WorkloadError } from './errors.ts';
import { podKey, type ObservedPod } from './observed-pod.ts';
import { podRefusal, type PodAdmission } from './pod-admission.ts';
import { approvalModeOf, notSelectedBecause } from './selection.ts';

export type NodeAdmissionErrorKind =
  /** The pod's namespace holds no SecureKey of that name (no other namespace is ever read). */
  | 'securekey-not-found'
  /** A pod-mode SecureKey: its release policy names pod digests (ADR 37). */
  | 'not-node-mode'
  | 'not-selected'
  /** The operator's defence-in-depth pod checks refuse it (runtime class, mirror pod, …). */
  | 'pod-refused'
  /** What the pod runs was not approved, or is not what the kubelet reports. */
  | 'not-approved'
  /** The operator has not made the key yet. */
  | 'securekey-not-ready';

/** Why a node-mode SecureKey does not serve a pod; the message names the SecureKey, the pod and the rule. */
export class NodeAdmissionError extends SecureKeyError<NodeAdmissionErrorKind> {}

/** The pod as the decision reads it: trimmed for the operator's rules, and its spec and status. */
export interface NodeModePod {
  observed: ObservedPod;
  spec: unknown;
  status: unknown;
}

export interface NodeAdmissionContext {
  /** The runtime classes pods may name besides none (the node's runtime). */
  admission: PodAdmission;
  now: Date;
  /** A caching wrapper around verifySignature, as the operator has; default none. */
  verify?: Parameters<typeof checkApprovals>[2];
}

/** The key version a node-mode SecureKey holds for a pod, and where it is. */
export interface NodeKeyGrant {
  vaultUrl: string;
  keyName: string;
  version: string;
  /** The attestation authority whose token the release policy accepts. */
  authority: string;
}

/**
 * The key `secureKey` (the SecureKey named `name` in the pod's namespace, undefined when there is none)
 * holds for `pod`, or the NodeAdmissionError that says why the pod may not have it: it serves node
 * mode, selects the pod and admits it by the operator's rules, and what the pod runs was approved —
 * its container digest signed by an approver and matching what the kubelet reports — unless the
 * SecureKey trusts every pod creator (approval: Observed).
 */
export async function admitNodePod(
  secureKey: SecureKey | undefined,
  name: string,
  pod: NodeModePod,
  ctx: NodeAdmissionContext,
): Promise<NodeKeyGrant> {
  const o = pod.observed;
  const where = `SecureKey ${o.namespace}/${name}`;
  if (secureKey === undefined) throw new NodeAdmissionError('securekey-not-found', `${where} does not exist`);
  if (deploymentModeOf(secureKey) !== 'Node') {
    throw new NodeAdmissionError(
      'not-node-mode',
      `${where} serves pod mode, not node mode (spec.mode: Node)`,
    );
  }
  const why = notSelectedBecause(secureKey, o);
  if (why !== undefined) {
    throw new NodeAdmissionError('not-selected', `${where} does not select pod ${podKey(o)}: ${why}`);
  }
  // Pods on a confidential-VM node run in the node's runtime (runc): no runtime class is always allowed.
  const refusal = podRefusal(o, name, { ...ctx.admission, noRuntimeClass: true });
  if (refusal !== undefined) {
    throw new NodeAdmissionError(
      'pod-refused',
      `${where} does not admit pod ${podKey(o)}: ${refusal.message}`,
    );
  }
  if (approvalModeOf(secureKey) === 'Signed') await approved(secureKey, name, pod, ctx);
  const version = secureKey.status?.key?.version;
  const authority = secureKey.spec.attestation.authorities[0];
  if (version === undefined || version === '' || authority === undefined) {
    throw new NodeAdmissionError('securekey-not-ready', `${where} has no key version yet`);
  }
  return { vaultUrl: secureKey.spec.vault.url, keyName: secureKey.spec.key.name, version, authority };
}

async function approved(secureKey: SecureKey, name: string, pod: NodeModePod, ctx: NodeAdmissionContext) {
  const o = pod.observed;
  const refuse = (why: string) =>
    new NodeAdmissionError('not-approved', `SecureKey ${o.namespace}/${name}: pod ${podKey(o)} ${why}`);
  let digest;
  try {
    digest = containerDigest(pod.spec);
  } catch (err) {
    if (err instanceof WorkloadError) throw refuse(`cannot be approved: ${err.message}`);
    throw err;
  }
  const running = kubeletMismatch(digest, pod.status);
  if (running !== undefined) throw refuse(`runs what its spec does not say: ${running}`);
  const approvers = (secureKey.spec.workloads.approvers ?? []) as Approver[];
  const verdict = judgeApprovals(await checkApprovals(o.approval, approvers, ctx.verify), {
    namespace: o.namespace,
    secureKey: name,
    scheme: NODE_CONTAINERS_SCHEME,
    digest: digest.digest,
    now: ctx.now,
  });
  if (!verdict.approved) {
    throw refuse(
      `is not approved (${verdict.reason}: ${verdict.message}; container digest ${digest.digest})`,
    );
  }
}
