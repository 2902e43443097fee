/**
 * KubeHttp's requests against a stand-in API server: what they send, and each way of getting no usable
 * answer as the KubeApiError kind the operator handles.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError } from './errors.ts';
import { KubeHttp } from './kube-http.ts';

const seen: { method: string; url: string; type?: string; auth?: string; body: string }[] = [];
let server: http.Server;
let kube: KubeHttp;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        ...(req.headers['content-type'] ? { type: req.headers['content-type'] } : {}),
        ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
        body,
      });
      if (req.url!.startsWith('/silent')) return;
      if (req.url!.startsWith('/watch-long')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.write(`{"type":"ADDED","object":{"pad":"${'x'.repeat(4096)}`); // no newline, ever
      }
      if (req.url!.startsWith('/watch-refused')) {
        res.writeHead(500, { 'content-type': 'application/json' });
        return void res.write('x'.repeat(4096)); // a refusal body that never ends
      }
      if (req.url!.startsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end('{"kind":"Status","reason":"NotFound","message":"pods \\"p\\" not found"}');
      }
      res.end(req.url!.startsWith('/html') ? '<html>bad gateway</html>' : JSON.stringify({ items: ['a'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kube = new KubeHttp({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tls: {},
    authorization: () => Promise.resolve('Bearer t'),
    source: 'test',
  });
});
afterAll(async () => {
  kube.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('KubeHttp requests', () => {
  it('send the query, the JSON body with its content type and a fresh Authorization; parse JSON answers', async () => {
    const before = seen.length;
    const res = await kube.request('PATCH', '/api/v1/pods', {
      query: { labelSelector: 'app=x', limit: 5, continue: undefined },
      body: { metadata: { labels: { a: 'b' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(res).toEqual({ status: 200, body: { items: ['a'] } });
    // A DELETE with a body (DeleteOptions) leaves the kept-alive connection usable for the next request.
    await kube.expect('DELETE', '/api/v1/pods/p', [200], { body: { propagationPolicy: 'Background' } });
    expect((await kube.request('GET', '/html')).body).toBe('<html>bad gateway</html>');
    expect(seen.slice(before)).toEqual([
      {
        method: 'PATCH',
        url: '/api/v1/pods?labelSelector=app%3Dx&limit=5',
        type: 'application/merge-patch+json',
        auth: 'Bearer t',
        body: '{"metadata":{"labels":{"a":"b"}}}',
      },
      {
        method: 'DELETE',
        url: '/api/v1/pods/p',
        type: 'application/json',
        auth: 'Bearer t',
        body: '{"propagationPolicy":"Background"}',
      },
      { method: 'GET', url: '/html', auth: 'Bearer t', body: '' },
    ]);
  });

  it('an unexpected status is a KubeApiError with the API server’s reason', async () => {
    const missing = kube.expect('GET', '/missing', [200]);
    await expect(missing).rejects.toBeInstanceOf(KubeApiError);
    await expect(missing).rejects.toMatchObject({
      kind: 'not-found',
      status: 404,
      message: 'GET /missing: HTTP 404: pods "p" not found',
    });
  });

  it('no usable answer: timeout, too large, unreachable', async () => {
    const silent = kube.request('GET', '/silent', { timeoutMs: 100 });
    await expect(silent).rejects.toBeInstanceOf(KubeApiError);
    await expect(silent).rejects.toMatchObject({ kind: 'timeout' });
    const large = kube.request('GET', '/list', { maxBytes: 4 });
    await expect(large).rejects.toMatchObject({ kind: 'bad-response', status: 200 });
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const gone = new KubeHttp({
      server: `http://127.0.0.1:${port}`,
      tls: {},
      authorization: () => Promise.resolve(undefined),
      source: 'test',
    });
    const unreachable = gone.request('GET', '/api');
    await expect(unreachable).rejects.toBeInstanceOf(KubeApiError);
    await expect(unreachable).rejects.toMatchObject({
      kind: 'transport',
      message: expect.stringMatching(/^GET \/api: API server not reached: connect ECONNREFUSED/),
    });
    gone.close();
  });

  it('a watch event line or refusal body past the bound ends the watch, not memory', async () => {
    for (const path of ['/watch-long', '/watch-refused']) {
      const watch = kube.watch(path, {
        query: {},
        signal: new AbortController().signal,
        onEvent: () => {},
        maxLineBytes: 1024,
      });
      await expect(watch).rejects.toMatchObject({
        kind: 'bad-response',
        message: expect.stringMatching(/longer than 1024 bytes/),
      });
    }
  });
});
