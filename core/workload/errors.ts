import { SecureKeyError } from '../errors.ts';

export type WorkloadErrorKind =
  /** A label selector Kubernetes itself would refuse (e.g. `In` without values). */
  | 'bad-selector'
  /** An object that is not a pod with a namespace and a name. */
  | 'bad-pod'
  /** A container image not pinned by digest: node mode's container digest cannot cover it (ADR 39). */
  | 'unpinned-image';

/** A pod or selector the workload rules cannot judge. Names the field. */
export class WorkloadError extends SecureKeyError<WorkloadErrorKind> {}
