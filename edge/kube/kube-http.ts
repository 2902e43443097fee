/**
 * SecureKey's one door to the Kubernetes API: JSON requests and watch streams over a keep-alive
 * HTTPS agent, authenticated the way the kubeconfig says (client certificates, bearer, token files and
 * the in-cluster token re-read per request so rotated tokens are picked up, exec plugins).
 *
 * Why not the generated client: it deserialises every pod into class instances (Dates, maps) and the
 * informer keeps whole objects; the operator needs raw JSON it can trim on arrival (10,000 pods with
 * policies of tens of KiB each would not fit in 200 MiB otherwise).
 */
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { KubeApiError } from './errors.ts';
import { kubeAccessFromFile, type KubeAccess } from './kubeconfig.ts';

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
  /** Per request; default 30 s. */
  timeoutMs?: number;
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
}

export class KubeHttp {
  readonly server: string;
  private readonly access: KubeAccess;
  private readonly agent: https.Agent | http.Agent;

  constructor(access: KubeAccess) {
    this.access = access;
    this.server = access.server;
    this.agent = this.server.startsWith('http:')
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({ ...access.tls, keepAlive: true, maxSockets: 64 });
  }

  /** From a kubeconfig file's current context (tests and tools). */
  static fromFile(file: string): KubeHttp {
    return new KubeHttp(kubeAccessFromFile(file));
  }

  /** Agent and auth header, fresh per request (token files rotate under us). */
  private async options(): Promise<https.RequestOptions & { headers: Record<string, string> }> {
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
    const url = this.url(path, o.query);
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          ...base,
          method,
          headers: {
            accept: 'application/json',
            ...o.headers,
            ...base.headers,
            // An explicit length: Node sends a DELETE body with no framing at all (neither Content-Length nor
            // chunked), so the API server read it as the start of the next request on the connection (a
            // bare "400 Bad Request"), seen in the e2e tier.
            ...(payload === undefined
              ? {}
              : {
                  'content-type': o.contentType ?? 'application/json',
                  'content-length': String(Buffer.byteLength(payload)),
                }),
          },
          ...(o.signal ? { signal: o.signal } : {}),
          timeout: o.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text === '' ? undefined : JSON.parse(text);
            } catch {
              // Not JSON (a proxy's HTML error page): keep the text for the error message.
            }
            resolve({ status: res.statusCode ?? 0, body: body as T });
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new KubeApiError('timeout', `${method} ${path}: no answer in time`)),
      );
      req.on('error', (err) =>
        reject(err instanceof KubeApiError ? err : KubeApiError.transport(method, path, err)),
      );
      req.end(payload);
    });
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
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('error', (err) => finish(KubeApiError.transport('WATCH', path, err)));
          res.on('data', (c: Buffer) => chunks.push(c));
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
        res.on('data', touch);
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
