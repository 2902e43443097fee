import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatorCa } from '../../sim/common/tls.ts';
import { errorBody, HttpError, httpRequest, jsonBody, MAX_RETRY_AFTER_MS, retryAfterMs } from './client.ts';

/** What the test server saw, per path. */
const seen: { method: string; path: string; body: string }[] = [];
let base = '';
let server: http.Server;
/** Bytes the server managed to write of /huge before the client hung up. */
let hugeWritten = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, body });
      const path = new URL(req.url!, 'http://x').pathname;
      if (path === '/json') {
        res.writeHead(429, { 'retry-after': '2', 'content-type': 'application/json' });
        res.end(JSON.stringify({ echo: body, auth: req.headers['authorization'] }));
      } else if (path === '/huge') {
        // No content-length: the cap must hold on the streamed bytes.
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (!res.destroyed && hugeWritten < 64 * 1024 * 1024) {
            hugeWritten += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (path === '/declared-huge') {
        res.writeHead(200, { 'content-length': String(10 << 20) });
        res.write('x');
      } else if (path === '/silent') {
        // never answers
      } else res.end('plain text');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failure(p: Promise<unknown>): Promise<HttpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe('httpRequest', () => {
  it('returns status, headers and body of any status, sending method, headers and body', async () => {
    const res = await httpRequest(`${base}/json?x=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
      body: 'hello',
    });
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('2');
    expect(jsonBody(res)).toEqual({ echo: 'hello', auth: 'Bearer t' });
    expect(res.body.toString('utf8')).toBe(res.text);
    expect(jsonBody(await httpRequest(`${base}/text`))).toBeUndefined();
  });

  it('frames a DELETE body, so the next request on a kept-alive connection is read as one', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = seen.length;
      const deleted = await httpRequest(`${base}/text`, { method: 'DELETE', body: '{"a":1}', agent });
      const next = await httpRequest(`${base}/text`, { agent });
      expect([deleted.status, next.status]).toEqual([200, 200]);
      expect(seen.slice(before)).toEqual([
        { method: 'DELETE', path: '/text', body: '{"a":1}' },
        { method: 'GET', path: '/text', body: '' },
      ]);
    } finally {
      agent.destroy();
    }
  });

  it('refuses a body over the cap while it streams, and one whose declared length is over it', async () => {
    const err = await failure(httpRequest(`${base}/huge?token=secret`, { maxBytes: 100_000 }));
    expect(err.kind).toBe('too-large');
    expect(err.status).toBe(200);
    expect(err.endpoint).toBe(`${new URL(base).host}/huge`);
    expect(err.message).not.toContain('secret'); // query strings can hold tokens
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hugeWritten).toBeLessThan(64 * 1024 * 1024); // the connection was dropped, not drained
    expect((await failure(httpRequest(`${base}/declared-huge`))).kind).toBe('too-large');
  });

  it('times out the whole exchange, and stops at the deadline and the abort signal', async () => {
    expect((await failure(httpRequest(`${base}/silent`, { timeoutMs: 100 }))).kind).toBe('timeout');
    expect((await failure(httpRequest(`${base}/silent`, { deadline: Date.now() + 100 }))).kind).toBe(
      'timeout',
    );
    const before = seen.length;
    const late = await failure(httpRequest(`${base}/text`, { deadline: Date.now() - 1 }));
    expect(late.kind).toBe('deadline-passed');
    const controller = new AbortController();
    const aborted = httpRequest(`${base}/silent`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await failure(aborted)).kind).toBe('aborted');
    expect(seen.slice(before).map((s) => s.path)).toEqual(['/silent']); // the late one was never sent
  });

  it('names an unreachable endpoint and a URL it cannot use', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(httpRequest(`http://127.0.0.1:${port}/x`));
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain(`GET 127.0.0.1:${port}/x`);
    expect((await failure(httpRequest('ftp://example.test/'))).kind).toBe('invalid-url');
    expect((await failure(httpRequest('not a url'))).kind).toBe('invalid-url');
  });

  it('over https, trusts exactly the given CA and resolves .localhost names to loopback', async () => {
    const ca = createSimulatorCa('client.test CA');
    const leaf = ca.issue({ commonName: 'svc.localhost', dns: ['svc.localhost'] });
    const tls = https.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://svc.localhost:${(tls.address() as AddressInfo).port}/`;
      expect((await httpRequest(url, { caPem: ca.certPem })).text).toBe('ok');
      const other = createSimulatorCa('another CA');
      expect((await failure(httpRequest(url, { caPem: other.certPem }))).kind).toBe('unreachable');
    } finally {
      tls.closeAllConnections();
      await new Promise((resolve) => tls.close(resolve));
    }
  });
});

describe('retryAfterMs (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  it.each([
    ['2', 2_000],
    [' 0 ', 0],
    [['5', '9'], 5_000],
    ['Sun, 06 Dec 2026 12:00:30 GMT', 30_000],
    ['Sunday, 06-Dec-26 12:00:30 GMT', 30_000],
    ['Sun, 06 Dec 2026 11:00:00 GMT', 0], // in the past: now
    ['86400', MAX_RETRY_AFTER_MS], // bounded
  ] as const)('%j → %d ms', (header, ms) => {
    expect(retryAfterMs(header as string | string[], now)).toBe(ms);
  });
  it.each([undefined, null, '', '-1', '1.5', '2s', 'soon', 'Sun, 99 Foo 2026'])(
    '%j → undefined',
    (header) => {
      expect(retryAfterMs(header, now)).toBeUndefined();
    },
  );
});

describe('errorBody', () => {
  it('reads Azure-style and IMDS-style error bodies, and nothing else', () => {
    expect(errorBody('{"error":{"code":"Throttled","message":"slow down"}}')).toEqual({
      code: 'Throttled',
      message: 'slow down',
    });
    expect(errorBody('{"error":"invalid_request"}')).toEqual({ message: 'invalid_request' });
    expect(errorBody('<html>')).toEqual({});
    expect(errorBody('null')).toEqual({});
  });
});
