import { ANNOTATION_PREFIX, POLICY_ANNOTATION_NAMES } from './constants.ts';
import { ReconcileError } from './errors.ts';

/** The part of a pod the operator keeps: enough to select it and digest its policy, nothing more. */
export interface ObservedPod {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  /** Only the policy annotations and securekey.io/* ones; policies can be large, the rest is unused. */
  annotations: Record<string, string>;
  /** metadata.deletionTimestamp is set: the pod is going away. */
  deleting: boolean;
  /** status.phase (Pending, Running, Succeeded, Failed, Unknown), when known. */
  phase: string | undefined;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

function strings(v: unknown, keep: (key: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(record(v))) {
    if (typeof value === 'string' && keep(k)) out[k] = value;
  }
  return out;
}

function keptAnnotation(key: string): boolean {
  return key.startsWith(ANNOTATION_PREFIX) || POLICY_ANNOTATION_NAMES.includes(key);
}

/** Trims any pod object (API JSON or a client's V1Pod) to an ObservedPod. */
export function trimPod(pod: unknown): ObservedPod {
  const meta = record(record(pod).metadata);
  const { namespace, name, uid, deletionTimestamp } = meta;
  if (typeof namespace !== 'string' || namespace === '' || typeof name !== 'string' || name === '') {
    throw new ReconcileError('bad-pod', 'pod object has no metadata.namespace and metadata.name');
  }
  const phase = record(record(pod).status).phase;
  return {
    namespace,
    name,
    uid: typeof uid === 'string' ? uid : '',
    labels: strings(meta.labels, () => true),
    annotations: strings(meta.annotations, keptAnnotation),
    deleting: deletionTimestamp !== undefined && deletionTimestamp !== null,
    phase: typeof phase === 'string' ? phase : undefined,
  };
}

/** "namespace/name", the way status and events name a pod. */
export function podKey(pod: Pick<ObservedPod, 'namespace' | 'name'>): string {
  return `${pod.namespace}/${pod.name}`;
}
