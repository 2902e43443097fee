/**
 * The mutating webhook's HTTPS server: POST /mutate takes an AdmissionReview and answers with `admit`'s
 * response; GET /healthz. The serving certificate can be replaced at run time (`setCertificate`), so
 * rotation needs no restart.
 *
 * Limits for callers that are not the API server (docs/adr/0022-webhook-limits-and-failure-policy.md):
 * a body over MAX_REVIEW_BYTES is refused with 413 before it is read, at most `maxInFlight` reviews are
 * handled at once (more get 429 with Retry-After, unread), a request must arrive within the API server's
 * longest webhook timeout, and with `clientCaPem` only a client presenting a certificate from that CA
 * (the API server, configured by --admission-control-config-file) is served at all.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import express from 'express';
import type { Logger } from '../../edge/log/log.ts';
import type { Histogram } from '../observability/metrics.ts';
import { admit, type AdmissionContext, type AdmissionReview } from './admission.ts';

/**
 * The API server refuses requests over 3 MiB, so no pod it admits is bigger; the AdmissionReview around
 * it (userInfo, options) is allowed 256 KiB more.
 */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024 + 256 * 1024;
/** Reviews handled at once by default: far above what one replica sees, far below what exhausts it. */
export const MAX_IN_FLIGHT = 64;
/** The longest timeoutSeconds a webhook may have: no honest request takes longer to arrive. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface WebhookServerOptions {
  host?: string;
  port?: number;
  certPem: string;
  keyPem: string;
  context: AdmissionContext;
  /** Reviews handled at once; MAX_IN_FLIGHT when absent. */
  maxInFlight?: number;
  /** Serve only clients with a certificate from this CA (the API server's admission client certificate). */
  clientCaPem?: string;
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
  app.use(inFlightLimit(o.maxInFlight ?? MAX_IN_FLIGHT));
  app.use(express.json({ limit: MAX_REVIEW_BYTES, type: () => true }));
  app.post('/mutate', async (req, res) => {
    const started = performance.now();
    // admit() checks the review's shape itself and denies a malformed one with a message.
    const review = req.body as AdmissionReview;
    try {
      const { response, outcome } = await admit(review, o.context);
      o.latency?.observe({ outcome }, (performance.now() - started) / 1000);
      if (outcome === 'denied') {
        o.log?.info('pod denied', {
          namespace: review?.request?.namespace,
          reason: response.status?.message,
        });
      }
      res.json({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    } catch (err) {
      o.latency?.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      o.log?.error('admission failed', { error: err });
      res.json({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: review?.request?.uid ?? '',
          allowed: false,
          status: { code: 500, message: `securekey webhook: ${(err as Error).message}` },
        },
      });
    }
  });
  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok\n'));
  app.use((_req, res) => void res.status(404).json({ error: 'not found' }));
  app.use(bodyErrors);

  const clientAuth =
    o.clientCaPem === undefined ? {} : { ca: o.clientCaPem, requestCert: true, rejectUnauthorized: true };
  const server = https.createServer(
    { cert: o.certPem, key: o.keyPem, minVersion: 'TLSv1.2', ...clientAuth },
    app,
  );
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8443, o.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host === undefined || o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `https://${host}:${port}`,
    setCertificate(certPem, keyPem) {
      server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2', ...clientAuth });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * At most `max` reviews at once; the next is answered 429 before its body is read. The API server counts
 * that as a failed call and applies the webhook's failurePolicy (Fail: the create is refused and the
 * client, e.g. a ReplicaSet controller, retries with backoff).
 */
function inFlightLimit(max: number): RequestHandler {
  let inFlight = 0;
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    if (inFlight >= max) {
      res.set('Retry-After', '1').status(429);
      res.json({ error: `securekey webhook: ${max} admission reviews already in progress; retry` });
      return;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    next();
  };
}

/** Body errors (too large, not JSON) as JSON with a clear message, never Express's HTML page. */
const bodyErrors: ErrorRequestHandler = (err: { status?: unknown; type?: unknown }, _req, res, next) => {
  if (res.headersSent) return next(err);
  if (err.type === 'entity.too.large') {
    res.status(413).json({
      error: `securekey webhook: an AdmissionReview is at most ${MAX_REVIEW_BYTES} bytes (the API server's 3 MiB request limit and room for the review)`,
    });
    return;
  }
  const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  res.status(status).json({
    error:
      status === 400
        ? 'expected an admission.k8s.io/v1 AdmissionReview as JSON'
        : 'securekey webhook: request failed',
  });
};
