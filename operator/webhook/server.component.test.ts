import https from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { agentSettings } from '../../core/inject/index.ts';
import { createCertificateAuthority, issueLeaf, privateKeyPem } from '../../core/x509/index.ts';
import { httpsRequest } from '../../test/support/https-request.ts';
import { planWebhookTls } from './certificates.ts';
import { podReviewJson } from '../../test/support/admission.ts';
import { MAX_REVIEW_BYTES, startWebhookServer, type WebhookServer } from './server.ts';

const { tls } = planWebhookTls(undefined, ['127.0.0.1'], new Date());
let server: WebhookServer | undefined;
afterEach(() => server?.close());

async function start(o: Partial<Parameters<typeof startWebhookServer>[0]> = {}): Promise<WebhookServer> {
  server = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    context: {
      settings: agentSettings({ image: 'agent:1' }),
      excludedNamespaces: new Set(),
      resolve: async () => undefined,
    },
    ...o,
  });
  return server;
}

const post = (s: WebhookServer, body: string) =>
  httpsRequest(`${s.url}/mutate`, {
    caPem: tls.caCertPem,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });

describe('webhook server limits', () => {
  it('refuses a body over the API server limit with 413 and says why', async () => {
    const s = await start();
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_REVIEW_BYTES) });
    const r = await post(s, big);
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ error: expect.stringMatching(/AdmissionReview is at most \d+ bytes .*3 MiB/) });
    // A review of a normal size is still answered.
    expect((await post(s, podReviewJson('u0', 'shop', 'db'))).status).toBe(200);
  });

  it('answers a body that is not JSON with 400 as JSON', async () => {
    const r = await post(await start(), '{not json');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: expect.stringContaining('AdmissionReview') });
  });

  it('answers a review without request.uid with an AdmissionReview that denies it and says why', async () => {
    const r = await post(await start(), JSON.stringify({ apiVersion: 'admission.k8s.io/v1', request: {} }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      kind: 'AdmissionReview',
      response: {
        uid: '',
        allowed: false,
        status: { message: expect.stringMatching(/request\.uid is missing/) },
      },
    });
  });

  it('handles at most maxInFlight reviews at once and answers the next 429 with Retry-After', async () => {
    const waiting: Array<() => void> = [];
    const s = await start({
      maxInFlight: 2,
      context: {
        settings: agentSettings({ image: 'agent:1' }),
        excludedNamespaces: new Set(),
        resolve: () => new Promise((resolve) => waiting.push(() => resolve(undefined))),
      },
    });
    const held = [post(s, podReviewJson('u1', 'shop', 'db')), post(s, podReviewJson('u2', 'shop', 'db'))];
    while (waiting.length < 2) await new Promise((r) => setTimeout(r, 10));
    const refused = await post(s, podReviewJson('u3', 'shop', 'db'));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json).toEqual({
      error: expect.stringContaining('2 admission reviews already in progress'),
    });
    for (const release of waiting) release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    // The slots are free again.
    const next = post(s, podReviewJson('u4', 'shop', 'db'));
    while (waiting.length < 3) await new Promise((r) => setTimeout(r, 10));
    waiting[2]!();
    expect((await next).status).toBe(200);
  });

  it('with a client CA, serves only clients presenting a certificate from it', async () => {
    const now = Date.now();
    const ca = createCertificateAuthority({
      subject: [{ type: 'CN', value: 'apiserver-client-ca' }],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
    });
    const client = issueLeaf(ca, {
      subject: [{ type: 'CN', value: 'kube-apiserver' }],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      extKeyUsage: ['clientAuth'],
    });
    const s = await start({ clientCaPem: ca.certPem });
    const status = (cert?: { cert: string; key: string }) =>
      new Promise<number | string>((resolve) => {
        const req = https.request(`${s.url}/healthz`, { ca: tls.caCertPem, ...cert }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        req.end();
      });
    expect(await status({ cert: client.certPem, key: privateKeyPem(client.key) })).toBe(200);
    expect(await status()).not.toBe(200);
  });
});
