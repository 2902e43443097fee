import { SecureKeyError } from '../../core/errors.ts';

export type KubeApiErrorKind =
  /** The kubeconfig names no cluster. */
  | 'no-cluster'
  /** Connection refused, reset, TLS failure: the API server was not reached. */
  | 'transport'
  | 'timeout'
  /** 404 */
  | 'not-found'
  /** 409: optimistic concurrency lost, or the object already exists. */
  | 'conflict'
  /** 410 Gone: the resourceVersion is too old; relist. */
  | 'gone'
  /** 401/403 */
  | 'forbidden'
  /** 422/400: the API server refused the object. */
  | 'invalid'
  /** 429 */
  | 'throttled'
  /** 5xx and anything else unexpected. */
  | 'server'
  | 'bad-response';

const BY_STATUS: Record<number, KubeApiErrorKind> = {
  400: 'invalid',
  401: 'forbidden',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'gone',
  422: 'invalid',
  429: 'throttled',
};

/** A Kubernetes API call that failed; the message names the call and carries the API server's reason. */
export class KubeApiError extends SecureKeyError<KubeApiErrorKind> {
  readonly status: number | undefined;

  constructor(kind: KubeApiErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(kind, message, options.cause === undefined ? {} : { cause: options.cause });
    this.status = options.status;
  }

  static fromResponse(method: string, path: string, status: number, body: unknown): KubeApiError {
    const s = (typeof body === 'object' && body !== null ? body : {}) as {
      message?: unknown;
      reason?: unknown;
    };
    const why = typeof s.message === 'string' ? s.message : typeof s.reason === 'string' ? s.reason : '';
    return new KubeApiError(
      BY_STATUS[status] ?? 'server',
      `${method} ${path}: HTTP ${status}${why ? `: ${why}` : ''}`,
      { status },
    );
  }

  static transport(method: string, path: string, cause: unknown): KubeApiError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new KubeApiError('transport', `${method} ${path}: API server not reached: ${why}`, { cause });
  }
}
