/**
 * SecureKey's one HTTP(S) client for its own requests (Entra's token endpoint, Azure Attestation, THIM,
 * the PSP, AMD KDS, the node agent, OIDC discovery, the Kubernetes API, and the tests): the whole
 * exchange is bounded in time (a per-request timeout, the caller's deadline and abort signal) and in size
 * (a body larger than the cap is refused before it is buffered), and the answer comes back whole —
 * status, headers and body — so a caller can read `Retry-After`. Non-2xx statuses are answers, not errors.
 *
 * Node built-ins only: the agent loads this on its start-up path. The operator's vault calls go through the
 * Azure SDK (edge/azure), over the same https agent; the agent's release comes through here
 * (edge/azure/key-release.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { SecureKeyError } from '../../core/errors.ts';
import { httpsAgent } from './https-agent.ts';

export type HttpErrorKind =
  /** Not an http(s) URL. */
  | 'invalid-url'
  /** No connection, or it broke before the answer was complete. */
  | 'unreachable'
  /** No complete answer within the request's timeout. */
  | 'timeout'
  /** The server answered that it cannot serve now (429, 5xx): raised by callers that retry. */
  | 'unavailable'
  /** The caller's deadline had passed before the request could start. */
  | 'deadline-passed'
  /** The caller's signal aborted it. */
  | 'aborted'
  /** The body is larger than the caller accepts. */
  | 'too-large'
  /** The server asked to be retried (Retry-After) later than the caller's deadline. */
  | 'retry-after-deadline';

/**
 * A request that did not produce a usable answer. `endpoint` is host and path only: query strings and
 * bodies can hold tokens and assertions, so no message carries them.
 */
export class HttpError extends SecureKeyError<HttpErrorKind> {
  readonly endpoint: string;
  /** The answer's status, when there was one. */
  readonly status: number | undefined;
  /** When the server said it may be asked again (Retry-After). */
  readonly retryAt: Date | undefined;

  constructor(
    kind: HttpErrorKind,
    message: string,
    o: { endpoint: string; status?: number; retryAt?: Date; hint?: string; cause?: unknown },
  ) {
    super(kind, message, {
      ...(o.hint === undefined ? {} : { hint: o.hint }),
      ...(o.cause === undefined ? {} : { cause: o.cause }),
    });
    this.endpoint = o.endpoint;
    this.status = o.status;
    this.retryAt = o.retryAt;
  }
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** PEM of the only CA to trust (https; see https-agent.ts). Ignored when `agent` is given. */
  caPem?: string;
  /** The caller's own agent (keep-alive, its CA, a client certificate: see https-agent.ts); default a fresh one per request. */
  agent?: http.Agent;
  /** Connection to last byte of the body. Default 10 s. */
  timeoutMs?: number;
  /** Epoch ms: no request starts past it, and the timeout is shortened to end by it. */
  deadline?: number;
  signal?: AbortSignal;
  /** Larger bodies are refused (`too-large`). Default 1 MiB, as the SKR sidecar caps its reads. */
  maxBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** `body` as UTF-8. */
  text: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 1 << 20;

/** `host/path` of a URL: what messages may say about where a request went (no query, no userinfo). */
export function endpointOf(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.host}${u.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * A server asked to be called again (Retry-After) only after the caller's deadline: fail now, saying when,
 * instead of waiting out the deadline or asking too early. `what` says what was refused.
 */
export function retryAfterDeadline(
  what: string,
  o: { endpoint: string; retryAt: Date; status?: number; cause?: unknown },
): HttpError {
  const at = o.retryAt.toISOString();
  return new HttpError(
    'retry-after-deadline',
    `${what}; it asks to be called again at ${at}, after the deadline`,
    {
      ...o,
      hint: `retry after ${at}`,
    },
  );
}

/** Resolves with any status; rejects with an HttpError when there is no complete answer in bounds. */
export function httpRequest(url: string | URL, o: HttpRequestOptions = {}): Promise<HttpResponse> {
  let target: URL;
  try {
    target = typeof url === 'string' ? new URL(url) : url;
  } catch (err) {
    return Promise.reject(new HttpError('invalid-url', 'not a URL', { endpoint: '(not a URL)', cause: err }));
  }
  const endpoint = endpointOf(target);
  const method = o.method ?? 'GET';
  const what = `${method} ${endpoint}`;
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:') {
    return Promise.reject(new HttpError('invalid-url', `${what}: not an http(s) URL`, { endpoint }));
  }
  const left = o.deadline === undefined ? Infinity : o.deadline - Date.now();
  if (left <= 0) {
    return Promise.reject(
      new HttpError('deadline-passed', `${what}: not sent, the deadline has passed`, { endpoint }),
    );
  }
  if (o.signal?.aborted) {
    return Promise.reject(new HttpError('aborted', `${what}: aborted`, { endpoint, cause: o.signal.reason }));
  }
  const timeoutMs = Math.min(o.timeoutMs ?? DEFAULT_TIMEOUT_MS, left);
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  // Plain http (IMDS, local tests) keeps Node's global agent.
  const agent = o.agent ?? (secure ? httpsAgent({ keepAlive: false, caPem: o.caPem }) : undefined);

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: HttpError | undefined, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(res!);
    };
    const fail = (kind: HttpErrorKind, message: string, cause?: unknown, status?: number) =>
      finish(
        new HttpError(kind, `${what}: ${message}`, {
          endpoint,
          ...(status === undefined ? {} : { status }),
          ...(cause === undefined ? {} : { cause }),
        }),
      );
    const onAbort = () => fail('aborted', 'aborted', o.signal?.reason);
    const timer = setTimeout(() => fail('timeout', `no complete answer within ${timeoutMs} ms`), timeoutMs);
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const req = (secure ? https : http).request(
      target,
      { method, headers: framed(o.headers ?? {}, o.body), ...(agent === undefined ? {} : { agent }) },
      (res) => {
        const status = res.statusCode ?? 0;
        const tooLarge = () => fail('too-large', `answered more than ${maxBytes} bytes`, undefined, status);
        if (Number(res.headers['content-length'] ?? 0) > maxBytes) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) tooLarge();
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          finish(undefined, { status, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', (err) => fail('unreachable', `the answer broke off: ${err.message}`, err, status));
      },
    );
    req.on('error', (err) => fail('unreachable', err.message, err));
    req.end(o.body);
  });
}

/**
 * The headers with an explicit Content-Length when there is a body: Node sends the body of a DELETE (or
 * GET, OPTIONS) with no framing at all — neither Content-Length nor chunked — so the server reads it as
 * the start of the next request on a keep-alive connection (the Kubernetes API server answered a bare
 * "400 Bad Request").
 */
function framed(headers: Record<string, string>, body: string | Buffer | undefined): Record<string, string> {
  if (body === undefined || Object.keys(headers).some((h) => h.toLowerCase() === 'content-length'))
    return headers;
  return { ...headers, 'content-length': String(Buffer.byteLength(body)) };
}

/** The body as JSON, or undefined when it is not JSON (an HTML error page from a proxy, say). */
export function jsonBody(res: Pick<HttpResponse, 'text'>): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A throttled or failing answer (429, 5xx) as an `unavailable` HttpError, carrying the server's Retry-After
 * as `retryAt` so that a retry loop waits what the server asks.
 */
export function unavailable(
  message: string,
  url: string | URL,
  res: Pick<HttpResponse, 'status' | 'headers'>,
): HttpError {
  const wait = retryAfterMs(res.headers['retry-after']);
  return new HttpError('unavailable', message, {
    endpoint: endpointOf(url),
    status: res.status,
    ...(wait === undefined ? {} : { retryAt: new Date(Date.now() + wait) }),
  });
}

/** `{"error":{"code","message"}}` (Azure style) or `{"error":"…"}` (IMDS style), when the body is one. */
export function errorBody(text: string): { code?: string; message?: string } {
  const doc = jsonBody({ text }) as { error?: unknown } | undefined;
  const error = typeof doc === 'object' && doc !== null ? doc.error : undefined;
  if (typeof error === 'string') return { message: error };
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown };
    return {
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.message === 'string' ? { message: e.message } : {}),
    };
  }
  return {};
}

/** The longest wait a Retry-After is taken at; a larger one is read as this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * RFC 9110 §10.2.3 `Retry-After`, as milliseconds from `now`: delay-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`; a date in the past is 0). Undefined when absent or unreadable;
 * at most `MAX_RETRY_AFTER_MS`.
 */
export function retryAfterMs(
  header: string | string[] | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else if (/^[A-Za-z]{3,9},? /.test(value)) {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  } else return undefined;
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
