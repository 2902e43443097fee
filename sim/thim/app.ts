/**
 * HTTP face of the simulated certificate endpoints: Azure IMDS's THIM path (plain HTTP, like IMDS
 * at 169.254.169.254) and AMD KDS's VCEK paths, on one server. IMDS refuses a request without the
 * `Metadata: true` header, or through a proxy, with 400 and the body IMDS sends.
 */
import type { Express, Request, Response } from 'express';
import { imdsRequestAllowed, sendJson as json, stringQuery, type FaultInjector } from '../common/http.ts';
import { simulatorApp } from '../common/server-kit.ts';
import type { KdsAnswer, ThimService } from './thim-service.ts';

export const THIM_PATH = '/metadata/THIM/amd/certification';
/** What IMDS answers when the Metadata header is missing. */
export const MISSING_METADATA_HEADER = { error: 'Bad request. Required metadata header not specified' };

export interface ThimAppOptions {
  readonly faults?: FaultInjector;
  readonly log?: (event: Record<string, unknown>) => void;
}

function param(req: Request, name: string): string {
  const v = req.params[name];
  return typeof v === 'string' ? v : '';
}

function kds(res: Response, answer: KdsAnswer): void {
  res.status(answer.status).type(answer.contentType).send(answer.body);
}

export function thimApp(service: ThimService, options: ThimAppOptions = {}): Express {
  const app = simulatorApp('thim', options.log);
  app.get('/_simulator/stats', (_req, res) => json(res, 200, service.counters));
  if (options.faults) app.use(options.faults.middleware());

  app.get(THIM_PATH, (req, res) => {
    if (!imdsRequestAllowed(req)) return json(res, 400, MISSING_METADATA_HEADER);
    const answer = service.certification(stringQuery(req));
    json(res, answer.status, answer.body);
  });
  app.get('/vcek/v1/:product/cert_chain', (req, res) => kds(res, service.certChain(param(req, 'product'))));
  app.get('/vcek/v1/:product/crl', (req, res) => kds(res, service.crl(param(req, 'product'))));
  app.get('/vcek/v1/:product/:hwid', (req, res) =>
    kds(res, service.vcek(param(req, 'product'), param(req, 'hwid'), stringQuery(req))),
  );
  app.use((_req, res) => json(res, 404, { error: 'Not found' }));
  return app;
}
