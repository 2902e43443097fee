/**
 * SecureKey's one door to the Kubernetes API: JSON requests (through edge/http's `httpRequest`) and
 * watch streams (long-lived, read line by line, so its own) over one keep-alive HTTPS agent, authenticated the way the kubeconfig says (client certificates, bearer, token files and
 * the in-cluster token re-read per request so rotated tokens are picked up, exec plugins).
 *
 * Why not the generated client: it deserialises every pod into class instances (Dates, maps) and the
 * informer keeps whole objects; the operator needs raw JSON it can trim on arrival (10,000 pods with
 * policies of tens of KiB each would not fit in 200 MiB otherwise).
 */
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { HttpError, httpRequest, type HttpResponse } from '../http/client.ts';
import { httpsAgent } from '../http/https-agent.ts';
import { KubeApiError } from './errors.ts';
import { kubeAccessFromFile, type KubeAccess, type KubeTls } from './kubeconfig.ts';

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Default application/json; patches need their own type. */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** Connection to last byte, per request; default 30 s. */
  timeoutMs?: number;
  /** A larger answer is refused (kind `bad-response`); default `MAX_RESPONSE_BYTES`. */
  maxBytes?: number;
  /** Extra headers (a service behind the API server's proxy; `accept` for a Table). */
  headers?: Record<string, string>;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface WatchOptions {
  query: Record<string, string | number | boolean | undefined>;
  signal: AbortSignal;
  onEvent: (event: WatchEvent) => void;
  /** The API server accepted the watch (HTTP 200): proof of contact even on a quiet stream. */
  onOpen?: () => void;
  /** No bytes for this long → the stream is presumed dead (half-open TCP) and torn down. */
  idleTimeoutMs?: number;
  /** The longest event line (or refusal body) taken; default MAX_WATCH_LINE_BYTES. */
  maxLineBytes?: number;
}

/**
 * The longest watch event taken: one object (etcd stores at most 1.5 MiB) as JSON, with room to spare.
 * A longer line, or refusal body, ends the watch instead of growing in memory.
 */
export const MAX_WATCH_LINE_BYTES = 16 * 1024 * 1024;

/**
 * The largest answer a request takes: a list page of 500 objects (the informer's default) at the API
 * server's 256 KiB limit on an object's annotations, where the operator's policies live, with room for
 * the rest of each object. A larger page is refused rather than buffered past the operator's memory.
 */
export const MAX_RESPONSE_BYTES = 128 * 1024 * 1024;

/** The keep-alive agent for one API server, with the kubeconfig's CA and client certificate. */
function kubeAgent(server: string, tls: KubeTls): http.Agent {
  if (server.startsWith('http:')) return new http.Agent({ keepAlive: true });
  return httpsAgent({
    keepAlive: true,
    maxSockets: 64,
    ...(tls.ca === undefined ? {} : { caPem: tls.ca }),
    ...(tls.cert === undefined || tls.key === undefined
      ? {}
      : { clientCert: { certPem: tls.cert, keyPem: tls.key } }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
  });
}

/** A request that got no usable answer, as the KubeApiError the callers handle. */
function unanswered(method: string, path: string, err: unknown): KubeApiError {
  if (!(err instanceof HttpError)) return KubeApiError.transport(method, path, err);
  if (err.kind === 'timeout')
    return new KubeApiError('timeout', `${method} ${path}: no answer in time`, { cause: err });
  if (err.kind === 'too-large') {
    return new KubeApiError('bad-response', `${method} ${path}: an answer larger than the client accepts`, {
      ...(err.status === undefined ? {} : { status: err.status }),
      cause: err,
    });
  }
  // Unreachable or aborted: the underlying reason (ECONNREFUSED, a TLS failure) is what the message needs.
  return KubeApiError.transport(method, path, err.cause ?? err);
}

export class KubeHttp {
  readonly server: string;
  private readonly access: KubeAccess;
  private readonly agent: http.Agent;

  constructor(access: KubeAccess) {
    this.access = access;
    this.server = access.server;
    this.agent = kubeAgent(this.server, access.tls);
  }

  /** From a kubeconfig file's current context (tests and tools). */
  static fromFile(file: string): KubeHttp {
    return new KubeHttp(kubeAccessFromFile(file));
  }

  /** Agent and auth header, fresh per request (token files rotate under us); requests and watches share them. */
  private async options(): Promise<{ agent: http.Agent; headers: Record<string, string> }> {
    const authorization = await this.access.authorization();
    return { agent: this.agent, headers: authorization ? { authorization } : {} };
  }

  url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<KubeResponse<T>> {
    const base = await this.options();
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    let res: HttpResponse;
    try {
      res = await httpRequest(this.url(path, o.query), {
        method,
        agent: base.agent,
        headers: {
          accept: 'application/json',
          ...o.headers,
          ...base.headers,
          ...(payload === undefined ? {} : { 'content-type': o.contentType ?? 'application/json' }),
        },
        ...(payload === undefined ? {} : { body: payload }),
        ...(o.signal ? { signal: o.signal } : {}),
        timeoutMs: o.timeoutMs ?? 30_000,
        maxBytes: o.maxBytes ?? MAX_RESPONSE_BYTES,
      });
    } catch (err) {
      throw unanswered(method, path, err);
    }
    let body: unknown = res.text;
    try {
      body = res.text === '' ? undefined : JSON.parse(res.text);
    } catch {
      // Not JSON (a proxy's HTML error page): keep the text for the error message.
    }
    return { status: res.status, body: body as T };
  }

  /** A request that must succeed with one of `ok`; anything else is a KubeApiError carrying the Status. */
  async expect<T = unknown>(method: string, path: string, ok: number[], o: RequestOptions = {}): Promise<T> {
    const res = await this.request<T>(method, path, o);
    if (!ok.includes(res.status)) throw KubeApiError.fromResponse(method, path, res.status, res.body);
    return res.body;
  }

  /**
   * One watch stream, resolved when it ends (server closed it, idle timeout, abort). An HTTP error or an
   * ERROR event with a Status rejects with KubeApiError (410 Gone → kind `gone`, so the caller relists).
   */
  async watch(path: string, o: WatchOptions): Promise<void> {
    const base = await this.options();
    const url = this.url(path, { ...o.query, watch: true });
    const transport = url.protocol === 'http:' ? http : https;
    const idleMs = o.idleTimeoutMs ?? 300_000;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        req.destroy();
        if (err === undefined) resolve();
        else reject(err);
      };
      let idle = setTimeout(() => finish(), idleMs);
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(), idleMs);
      };
      const req = transport.request(url, {
        ...base,
        method: 'GET',
        headers: { ...base.headers, accept: 'application/json' },
        signal: o.signal,
      });
      const maxLine = o.maxLineBytes ?? MAX_WATCH_LINE_BYTES;
      const tooLong = () =>
        finish(
          new KubeApiError('bad-response', `WATCH ${path}: an answer line longer than ${maxLine} bytes`),
        );
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('error', (err) => finish(KubeApiError.transport('WATCH', path, err)));
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxLine) tooLong();
            else chunks.push(c);
          });
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              body = undefined;
            }
            finish(KubeApiError.fromResponse('WATCH', path, res.statusCode ?? 0, body));
          });
          return;
        }
        o.onOpen?.();
        let pending = 0; // bytes since the last newline: one event line, bounded
        res.on('data', (c: Buffer) => {
          touch();
          const newline = c.lastIndexOf(0x0a);
          pending = newline < 0 ? pending + c.length : c.length - newline - 1;
          if (pending > maxLine) tooLong();
        });
        res.on('error', (err) =>
          finish(o.signal.aborted ? undefined : KubeApiError.transport('WATCH', path, err)),
        );
        res.on('end', () => finish());
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        // readline re-emits the stream's errors on itself; unheard, they would crash the process.
        lines.on('error', () => {});
        lines.on('line', (line) => {
          if (settled || line.trim() === '') return;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch {
            finish(new KubeApiError('bad-response', `WATCH ${path}: a line that is not JSON`));
            return;
          }
          if (event.type === 'ERROR') {
            const status = event.object as { code?: number };
            finish(KubeApiError.fromResponse('WATCH', path, status.code ?? 500, event.object));
            return;
          }
          try {
            o.onEvent(event);
          } catch (err) {
            finish(err);
          }
        });
      });
      req.on('error', (err) =>
        finish(o.signal.aborted ? undefined : KubeApiError.transport('WATCH', path, err)),
      );
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
