/**
 * HTTP face of the simulated IMDS identity endpoint: plain HTTP, as IMDS at 169.254.169.254 is. A
 * request without `Metadata: true`, or one that went through a proxy (`X-Forwarded-For`), is refused
 * before anything else, as IMDS does against server-side request forgery.
 */
import type { Express, Request } from 'express';
import { sendJson as json, type FaultInjector } from '../common/http.ts';
import { simulatorApp } from '../common/server-kit.ts';
import { MISSING_METADATA_HEADER, type ImdsService } from './imds-service.ts';

export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';

export interface ImdsAppOptions {
  readonly faults?: FaultInjector;
  readonly log?: (event: Record<string, unknown>) => void;
}

function query(req: Request): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.query)) out[k] = typeof v === 'string' ? v : undefined;
  return out;
}

export function imdsApp(service: ImdsService, options: ImdsAppOptions = {}): Express {
  const app = simulatorApp('imds', options.log);
  app.get('/_simulator/stats', (_req, res) => json(res, 200, service.counters));
  if (options.faults) app.use(options.faults.middleware());

  app.get(IMDS_TOKEN_PATH, (req, res) => {
    if (req.get('metadata') !== 'true' || req.get('x-forwarded-for') !== undefined) {
      service.counters.refused++;
      return json(res, 400, MISSING_METADATA_HEADER);
    }
    const answer = service.token(query(req));
    json(res, answer.status, answer.body);
  });
  app.use((_req, res) => json(res, 404, { error: 'Not found' }));
  return app;
}
