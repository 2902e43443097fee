/**
 * The mutating webhook's HTTPS server: POST /mutate takes an AdmissionReview (bodies up to 16 MiB —
 * big pods exist) and answers with `admit`'s response; GET /healthz. The serving certificate can be
 * replaced at run time (`setCertificate`), so rotation needs no restart.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Logger } from '../../edge/log/log.ts';
import type { Histogram } from '../observability/metrics.ts';
import { admit, type AdmissionContext, type AdmissionReview } from './admission.ts';

export interface WebhookServerOptions {
  host?: string;
  port?: number;
  certPem: string;
  keyPem: string;
  context: AdmissionContext;
  /** securekey_webhook_admission_duration_seconds{outcome}. */
  latency?: Histogram<'outcome'>;
  log?: Logger;
}

export interface WebhookServer {
  url: string;
  setCertificate(certPem: string, keyPem: string): void;
  close(): Promise<void>;
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16mb', type: () => true }));
  app.post('/mutate', async (req, res) => {
    const started = performance.now();
    const review = req.body as AdmissionReview;
    if (!review?.request?.uid) {
      res.status(400).json({ error: 'expected an admission.k8s.io/v1 AdmissionReview with request.uid' });
      return;
    }
    try {
      const { response, outcome } = await admit(review, o.context);
      o.latency?.observe({ outcome }, (performance.now() - started) / 1000);
      if (outcome === 'denied') {
        o.log?.info('pod denied', { namespace: review.request.namespace, reason: response.status?.message });
      }
      res.json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    } catch (err) {
      o.latency?.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      o.log?.error('admission failed', { error: err });
      res.json({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: review.request.uid,
          allowed: false,
          status: { code: 500, message: `securekey webhook: ${(err as Error).message}` },
        },
      });
    }
  });
  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok\n'));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));

  const server = https.createServer({ cert: o.certPem, key: o.keyPem, minVersion: 'TLSv1.2' }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8443, o.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host === undefined || o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `https://${host}:${port}`,
    setCertificate(certPem, keyPem) {
      server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
