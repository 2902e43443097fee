/**
 * HTTP plumbing every simulated Azure service shares: HTTP(S) servers on loopback, JSON answers, the
 * CloudError body Azure services answer with, request ids, and fault injection (throttling, outages,
 * latency). server-kit.ts puts them together into a simulator's server.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Every simulator says what it is, in a header and in its error messages' activity ids. */
export const SIMULATOR_HEADER = 'x-securekey-simulator';

export interface RunningServer {
  /** `https://host:port` (or `http://`) without a trailing slash. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  keyPem: string;
  certPem: string;
  /** Defaults to 127.0.0.1 and an ephemeral port. */
  host?: string;
  port?: number;
  /** Host name to put in `url` (e.g. a `*.localhost` name); defaults to `host`. */
  publicHost?: string;
}

/** Serves `handler` over HTTPS; resolves once listening. */
export function serveHttps(handler: RequestListener, o: ServeOptions): Promise<RunningServer> {
  return listen(https.createServer({ key: o.keyPem, cert: o.certPem }, handler), 'https', o);
}

/** Serves `handler` over plain HTTP (as Azure IMDS answers); resolves once listening. */
export function serveHttp(
  handler: RequestListener,
  o: Omit<ServeOptions, 'keyPem' | 'certPem'> = {},
): Promise<RunningServer> {
  return listen(http.createServer(handler), 'http', o);
}

async function listen(
  server: http.Server,
  scheme: 'http' | 'https',
  o: Omit<ServeOptions, 'keyPem' | 'certPem'>,
): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${scheme}://${o.publicHost ?? host}:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON answer, serialised as given (no express reformatting). */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** Azure's error body: `{"error":{"code","message"[,"innererror"]}}`; messages end with an activity id. */
export function cloudError(
  res: Response,
  status: number,
  code: string,
  message: string,
  innererror?: { code: string },
): void {
  const activity = crypto.randomUUID();
  res
    .status(status)
    .type('application/json; charset=utf-8')
    .set('x-ms-request-id', activity)
    .json({
      error: {
        code,
        message: `${message} (Activity ID: ${activity})`,
        ...(innererror ? { innererror } : {}),
      },
    });
}

/** What to do to the next requests that match. Counts are consumed; latency applies to all. */
export interface FaultPlan {
  /** Answer this many requests with 429 and `Retry-After`. */
  throttle?: { count: number; retryAfterSeconds: number };
  /** Answer this many requests with this 5xx status. */
  outage?: { count: number; status?: number };
  /** Delay every request. */
  latencyMs?: number;
  /**
   * Process the request, then hold the answer this long: the "done, but the caller never heard" case
   * (a client that dies meanwhile must not repeat what already happened).
   */
  answerDelayMs?: number;
  /** Only requests whose `METHOD path` matches. Default: all. */
  match?: RegExp;
}

/** A fault plan as an admin endpoint receives it (JSON, `match` a regular expression's source). */
export function parseFaultPlan(body: unknown): FaultPlan {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const plan: FaultPlan = {};
  if (b['throttle'] !== undefined) plan.throttle = b['throttle'] as FaultPlan['throttle'];
  if (b['outage'] !== undefined) plan.outage = b['outage'] as FaultPlan['outage'];
  if (typeof b['latencyMs'] === 'number') plan.latencyMs = b['latencyMs'];
  if (typeof b['match'] === 'string') plan.match = new RegExp(b['match']);
  return plan;
}

/** Holds `res.end` for `ms`; the handler runs (and commits its effects) at once. */
function delayAnswer(res: Response, ms: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    setTimeout(() => {
      if (!res.socket?.destroyed) end(...args);
    }, ms);
    return res;
  }) as Response['end'];
}

/** Fault injection, switchable at run time (tests and the sandbox's admin endpoint change `plan`). */
export class FaultInjector {
  plan: FaultPlan = {};
  injected = { throttled: 0, failed: 0 };

  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const p = this.plan;
      if (p.match && !p.match.test(`${req.method} ${req.path}`)) return next();
      const go = () => {
        if (p.throttle && p.throttle.count > 0) {
          p.throttle.count--;
          this.injected.throttled++;
          res.set('Retry-After', String(p.throttle.retryAfterSeconds));
          return cloudError(
            res,
            429,
            'Throttled',
            'Request was not processed because too many requests were received',
          );
        }
        if (p.outage && p.outage.count > 0) {
          p.outage.count--;
          this.injected.failed++;
          return cloudError(
            res,
            p.outage.status ?? 503,
            'ServiceUnavailable',
            'The service is temporarily unavailable',
          );
        }
        if (p.answerDelayMs) delayAnswer(res, p.answerDelayMs);
        next();
      };
      if (p.latencyMs) setTimeout(go, p.latencyMs);
      else go();
    };
  }
}

/** Marks every response as coming from a simulator. */
export function simulatorMarker(service: string): RequestHandler {
  return (_req, res, next) => {
    res.set(SIMULATOR_HEADER, service);
    next();
  };
}

/** A request's query parameters that are single strings (Express parses repeats and `a[b]=` into other shapes). */
export function stringQuery(req: Request): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.query)) out[k] = typeof v === 'string' ? v : undefined;
  return out;
}

/**
 * IMDS's guard against server-side request forgery, on every IMDS path (THIM, identity): the request
 * carries `Metadata: true` and did not pass through a proxy (`X-Forwarded-For`).
 */
export function imdsRequestAllowed(req: Request): boolean {
  return req.get('metadata') === 'true' && req.get('x-forwarded-for') === undefined;
}
