/**
 * HTTP face of the simulated Entra ID: the paths MSAL and @azure/identity use, plus a counters endpoint
 * for tests and the sandbox (`GET /_simulator/stats`). Every response carries the simulator header.
 */
import crypto from 'node:crypto';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { sendJson as json } from '../common/http.ts';
import type { FaultInjector } from '../common/http.ts';
import { simulatorApp } from '../common/server-kit.ts';
import { EntraRejection } from './entra-errors.ts';
import type { EntraService } from './entra-service.ts';

export interface EntraAppOptions {
  faults?: FaultInjector;
  log?: (event: Record<string, unknown>) => void;
}

function param(req: Request, name: string): string {
  const v = req.params[name];
  return typeof v === 'string' ? v : '';
}

export function entraApp(service: EntraService, options: EntraAppOptions = {}): Express {
  const app = simulatorApp('entra', options.log);

  app.get('/_simulator/stats', (_req, res) => json(res, 200, service.counters));
  if (options.faults !== undefined) app.use(options.faults.middleware());

  const metadata = (v2: boolean) => (req: Request, res: Response) => {
    try {
      json(res, 200, service.openIdConfiguration(param(req, 'tenant'), v2));
    } catch (err) {
      if (!(err instanceof EntraRejection)) throw err;
      const r = err.toResult({
        baseUrl: service.baseUrl,
        correlationId: crypto.randomUUID(),
        nowMs: Date.now(),
      });
      json(res, r.status, r.body);
    }
  };
  app.get('/:tenant/v2.0/.well-known/openid-configuration', metadata(true));
  app.get('/:tenant/.well-known/openid-configuration', metadata(false));
  for (const path of ['/:tenant/discovery/v2.0/keys', '/:tenant/discovery/keys']) {
    app.get(path, (_req, res) => json(res, 200, service.jwks()));
  }
  for (const path of ['/common/discovery/instance', '/:tenant/discovery/instance']) {
    app.get(path, (_req, res) => json(res, 200, service.instanceDiscovery()));
  }

  const token = async (req: Request, res: Response) => {
    const form = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<
      string,
      unknown
    >;
    const fromQuery =
      typeof req.query['client-request-id'] === 'string' ? req.query['client-request-id'] : undefined;
    const fromForm = typeof form['client-request-id'] === 'string' ? form['client-request-id'] : undefined;
    const result = await service.token(
      param(req, 'tenant'),
      form,
      fromForm ?? fromQuery ?? crypto.randomUUID(),
    );
    res.set('cache-control', 'no-store, no-cache');
    json(res, result.status, result.body);
  };
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  app.post('/:tenant/oauth2/v2.0/token', form, token);
  app.post('/:tenant/oauth2/token', form, token);

  app.use((_req, res) =>
    json(res, 404, { error: 'not_found', error_description: 'No such endpoint on the simulated Entra ID.' }),
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status =
      typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    json(res, status, {
      error: status < 500 ? 'invalid_request' : 'server_error',
      error_description: (err as Error).message,
    });
  });
  return app;
}
