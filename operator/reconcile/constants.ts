import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';

/** Label a pod carries to opt in to SecureKey (the operator watches only these pods). */
export const INJECT_LABEL = 'securekey.io/inject';
/** The only value of INJECT_LABEL that opts a pod in. */
export const INJECT_LABEL_VALUE = 'true';
/** Prefix of every SecureKey annotation; pods keep these (and the policy annotations) when trimmed. */
export const ANNOTATION_PREFIX = 'securekey.io/';
/** Annotations that carry a pod's security policy, one per policy scheme. */
export const POLICY_ANNOTATION_NAMES: readonly string[] = Object.values(POLICY_ANNOTATIONS);
