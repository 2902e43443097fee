import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { secureKey as testSecureKey } from '../../test/support/reconcile.ts';
import type { KubeHttp } from '../../edge/kube/kube-http.ts';
import { silentLogger } from '../../edge/log/log.ts';
import { httpsRequest } from '../../test/support/https-request.ts';
import { Registry } from '../observability/metrics.ts';
import { planWebhookTls } from './certificates.ts';
import { CACHE_GRACE_MS, runWebhook, type RunningWebhook } from './run-webhook.ts';
import { podReviewJson } from '../../test/support/admission.ts';

const { tls } = planWebhookTls(undefined, ['127.0.0.1'], new Date());
const certDir = mkdtempSync(path.join(tmpdir(), 'webhook-certs-'));
writeFileSync(path.join(certDir, 'tls.crt'), tls.certPem);
writeFileSync(path.join(certDir, 'tls.key'), tls.keyPem);
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

const secureKey = testSecureKey({}, { vault: { url: 'https://hsm1.managedhsm.azure.net' } });

/** An API server the webhook must not call: admission reads SecureKeys from the cache alone. */
const apiCalls: string[] = [];
const noApi = {
  request: async (method: string, p: string) => {
    apiCalls.push(`${method} ${p}`);
    return { status: 200, body: secureKey };
  },
} as unknown as KubeHttp;

async function start(cached: (key: string) => SecureKey | undefined): Promise<RunningWebhook> {
  return runWebhook({
    config: {
      host: '127.0.0.1',
      port: 0,
      certDir,
      secretName: 'unused',
      serviceName: 'securekey-webhook',
      configurationName: 'securekey',
      agent: { image: 'agent:1' },
    },
    namespace: 'securekey-system',
    http: noApi,
    registry: new Registry(),
    cached,
    log: silentLogger,
  });
}

function admit(webhook: RunningWebhook, namespace: string) {
  return httpsRequest(`${webhook.url}/mutate`, {
    caPem: tls.caCertPem,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: podReviewJson('u1', namespace, 'db-key'),
  }).then((r) => (r.json as { response: { allowed: boolean; status?: { message: string } } }).response);
}

describe('webhook SecureKey resolution', () => {
  it('answers from the cache of the pod namespace only, and never reads the API server', async () => {
    const cache = new Map([['shop/db-key', secureKey]]);
    const webhook = await start((key) => cache.get(key));
    try {
      expect((await admit(webhook, 'shop')).allowed).toBe(true);
      const started = Date.now();
      const other = await admit(webhook, 'elsewhere');
      expect(Date.now() - started).toBeGreaterThanOrEqual(CACHE_GRACE_MS - 50);
      expect(other).toMatchObject({ allowed: false });
      // Says only that the pod's own namespace holds no such SecureKey.
      expect(other.status?.message).toContain('SecureKey db-key does not exist in namespace elsewhere');
      expect(apiCalls).toEqual([]);
    } finally {
      await webhook.close();
    }
  });

  it('waits briefly for a SecureKey created just before its pod', async () => {
    const cache = new Map<string, SecureKey>();
    const webhook = await start((key) => cache.get(key));
    try {
      setTimeout(() => cache.set('shop/db-key', secureKey), CACHE_GRACE_MS / 3);
      expect((await admit(webhook, 'shop')).allowed).toBe(true);
      expect(apiCalls).toEqual([]);
    } finally {
      await webhook.close();
    }
  });
});
