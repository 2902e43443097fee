/**
 * HTTP face of the simulated IMDS identity endpoint: plain HTTP, as IMDS at 169.254.169.254 is. A
 * request without `Metadata: true`, or one that went through a proxy (`X-Forwarded-For`), is refused
 * before anything else, as IMDS does against server-side request forgery.
 */
import type { Express } from 'express';
import { imdsRequestAllowed, sendJson as json, stringQuery, type FaultInjector } from '../common/http.ts';
import { simulatorApp } from '../common/server-kit.ts';
import { MISSING_METADATA_HEADER, type ImdsService } from './imds-service.ts';

export const IMDS_TOKEN_PATH = '/metadata/identity/oauth2/token';

export interface ImdsAppOptions {
  readonly faults?: FaultInjector;
  readonly log?: (event: Record<string, unknown>) => void;
}

export function imdsApp(service: ImdsService, options: ImdsAppOptions = {}): Express {
  const app = simulatorApp('imds', options.log);
  app.get('/_simulator/stats', (_req, res) => json(res, 200, service.counters));
  if (options.faults) app.use(options.faults.middleware());

  app.get(IMDS_TOKEN_PATH, (req, res) => {
    if (!imdsRequestAllowed(req)) {
      service.counters.refused++;
      return json(res, 400, MISSING_METADATA_HEADER);
    }
    const answer = service.token(stringQuery(req));
    json(res, answer.status, answer.body);
  });
  app.use((_req, res) => json(res, 404, { error: 'Not found' }));
  return app;
}
