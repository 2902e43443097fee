/**
 * One small HTTP(S) request helper for the agent's own calls (PSP, THIM, AMD KDS): the edge's agent for https
 * (loopback names, an optional CA that is then the only one trusted), a timeout, an abort signal and a
 * bounded body. The vault and MAA go through the Azure SDK and edge/azure instead.
 */
import http from 'node:http';
import https from 'node:https';
import { httpsAgent } from '../edge/azure/https-agent.ts';

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** CA to trust instead of the system roots (https only). */
  caPem?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  text: string;
  /** The same body as bytes (KDS answers DER). */
  body: Buffer;
}

const MAX_BODY = 1 << 20;

/** Resolves with any status; rejects on network errors, timeouts, aborts and oversized bodies. */
export function httpRequest(url: string, o: HttpRequest = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      method: o.method ?? 'GET',
      headers: o.headers ?? {},
      timeout: timeoutMs,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    };
    if (secure)
      options.agent = httpsAgent({ ...(o.caPem === undefined ? {} : { caPem: o.caPem }), keepAlive: false });
    const req = (secure ? https : http).request(target, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          res.destroy();
          reject(new Error(`${target.origin} answered with more than ${MAX_BODY} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, text: body.toString('utf8'), body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** `{"error":{"code","message"}}` (Azure style) or `{"error":"…"}` (IMDS style), when the body is one. */
export function errorBody(text: string): { code?: string; message?: string } {
  try {
    const doc = JSON.parse(text) as { error?: unknown };
    if (typeof doc.error === 'string') return { message: doc.error };
    if (typeof doc.error === 'object' && doc.error !== null) {
      const e = doc.error as { code?: unknown; message?: unknown };
      return {
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
        ...(typeof e.message === 'string' ? { message: e.message } : {}),
      };
    }
  } catch {
    // not JSON
  }
  return {};
}
