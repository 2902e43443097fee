/**
 * Which pods may lend a SecureKey their policy digest: the pod as the operator keeps it, the label
 * selector, selection and the defence-in-depth refusals, and node mode's container digest. The operator, `securekey explain` and the node
 * agent judge pods with these same rules.
 */
export {
  containerDigest,
  kubeletMismatch,
  type ContainerDigest,
  type DigestedContainer,
} from './container-digest.ts';
export { WorkloadError, type WorkloadErrorKind } from './errors.ts';
export { selectorMatches } from './label-selector.ts';
export {
  admitNodePod,
  NodeAdmissionError,
  type NodeAdmissionContext,
  type NodeAdmissionErrorKind,
  type NodeKeyGrant,
  type NodeModePod,
} from './node-admission.ts';
export {
  MIRROR_POD_ANNOTATION,
  podKey,
  podPolicy,
  trimPod,
  type ObservedPod,
  type PodPolicy,
  type PolicyProblem,
} from './observed-pod.ts';
export {
  CONFIDENTIAL_RUNTIME_CLASSES,
  DEFAULT_POD_ADMISSION,
  FirstPolicies,
  podRefusal,
  type PodAdmission,
  type PodRefusal,
  type PodRefusalReason,
} from './pod-admission.ts';
export {
  approvalModeOf,
  notSelectedBecause,
  policySchemeOf,
  selectedPods,
  type ApprovalMode,
} from './selection.ts';
