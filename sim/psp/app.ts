/**
 * HTTP face of the mock PSP: `POST /v1/report` with a bearer service-account token and
 * `{"reportData": "<128 hex>", "vmpl"?: 0}`. Errors in the `{"error":{"code","message"}}` shape the
 * other simulators use; 401s carry a Bearer challenge.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { cloudError, type FaultInjector } from '../common/http.ts';
import { simulatorApp } from '../common/server-kit.ts';
import { PSP_ERROR_CODE, PspError } from './errors.ts';
import type { PspService } from './psp-service.ts';

export const PSP_REPORT_PATH = '/v1/report';

export interface PspAppOptions {
  readonly faults?: FaultInjector;
  readonly log?: (event: Record<string, unknown>) => void;
}

function refuse(res: Response, err: PspError): void {
  if (err.status === 401) res.set('WWW-Authenticate', 'Bearer realm="securekey-psp"');
  cloudError(res, err.status, PSP_ERROR_CODE[err.kind], err.message);
}

export function pspApp(service: PspService, options: PspAppOptions = {}): Express {
  const app = simulatorApp('psp', options.log);
  const log = options.log ?? (() => {});
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/_simulator/stats', (_req, res) => {
    res.json(service.stats());
  });
  if (options.faults) app.use(options.faults.middleware());

  app.post(
    PSP_REPORT_PATH,
    express.json({ limit: '16kb', strict: false }),
    async (req: Request, res: Response) => {
      try {
        const result = await service.issue(req.get('authorization'), req.body);
        res
          .status(200)
          .type('application/json; charset=utf-8')
          .set('cache-control', 'no-store')
          .send(JSON.stringify(result));
      } catch (err) {
        if (!(err instanceof PspError)) throw err;
        refuse(res, err);
      }
    },
  );
  app.use((_req, res) => cloudError(res, 404, 'NotFound', 'No such path on the simulated PSP'));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const parseFailure = (err as { type?: string }).type === 'entity.parse.failed';
    if (parseFailure) return cloudError(res, 400, 'BadRequest', 'the body is not JSON');
    log({ sim: 'psp', event: 'error', message: (err as Error).message });
    cloudError(res, 500, 'InternalServerError', 'the simulated PSP failed');
  });
  return app;
}
