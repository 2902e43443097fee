import { SecureKeyError } from '../errors.ts';

export type DigestErrorKind =
  | 'annotation-missing'
  /** The annotation holds a number, list or map (a hand-written manifest), not a string. */
  | 'not-a-string'
  | 'bad-base64'
  | 'bad-gzip'
  | 'too-large'
  | 'bad-initdata'
  /** The initdata document's top level (before `[data]`) is longer than the few lines it should be. */
  | 'initdata-header-too-large'
  | 'unsupported-initdata-version'
  | 'unsupported-initdata-algorithm';

/** A pod's policy annotation cannot be turned into a digest. Names the annotation and the problem. */
export class DigestError extends SecureKeyError<DigestErrorKind> {
  readonly annotation: string;

  constructor(kind: DigestErrorKind, annotation: string, problem: string, hint?: string) {
    super(kind, `annotation ${annotation}: ${problem}`, hint === undefined ? {} : { hint });
    this.annotation = annotation;
  }
}
