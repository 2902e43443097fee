import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';

/** The opt-in label and annotation prefix live with the injection, so operator and webhook agree. */
export { ANNOTATION_PREFIX, INJECT_LABEL, INJECT_LABEL_VALUE } from '../../core/inject/annotations.ts';
/** Annotations that carry a pod's security policy, one per policy scheme. */
export const POLICY_ANNOTATION_NAMES: readonly string[] = Object.values(POLICY_ANNOTATIONS);
