/**
 * HTTP face of the simulated MAA: `POST /attest/SevSnpVm?api-version=…` (type matched without regard
 * to case — the sidecar sends `SevSnpVM`), `GET /certs`, `GET /.well-known/openid-configuration`, and
 * the simulator's own `GET /_simulator/stats` and `PUT /_simulator/faults` (admin token). The body is
 * read raw so that the nonce's digits survive (request.ts). Every error is a CloudError body.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { cloudError, sendJson } from '../common/http.ts';
import type { FaultInjector } from '../common/http.ts';
import { faultsEndpoint, simulatorApp } from '../common/server-kit.ts';
import { apiVersionOf } from './api-version.ts';
import { MaaError } from './errors.ts';
import type { MaaService } from './maa-service.ts';
import type { MaaStats } from './stats.ts';

export interface MaaAppOptions {
  service: MaaService;
  stats: MaaStats;
  faults: FaultInjector;
  /** Enables `PUT /_simulator/faults` for callers presenting `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  log?: (event: Record<string, unknown>) => void;
}

/** Request bodies above this are refused (a report, its chain and a runtime JWKS are ~10 KiB). */
const BODY_LIMIT = '1mb';

function sendError(res: Response, err: MaaError): void {
  cloudError(res, err.status, err.code, err.message, { code: err.kind });
}

function routeName(path: string): string {
  if (/^\/attest\//i.test(path)) return 'attest';
  if (path === '/certs') return 'certs';
  if (path === '/.well-known/openid-configuration') return 'openid-configuration';
  if (path.startsWith('/_simulator/')) return 'simulator';
  return 'unknown';
}

export function maaApp(options: MaaAppOptions): Express {
  const { service, stats, faults } = options;
  const log = options.log ?? (() => {});
  const app = simulatorApp('maa');
  app.use((req, res, next) => {
    const route = routeName(req.path);
    res.on('finish', () => {
      stats.recordCall(route, res.statusCode);
      if (route === 'attest' && req.method === 'POST') {
        const outcome = res.statusCode === 200 ? 'token' : String(res.locals['errorCode'] ?? res.statusCode);
        stats.recordAttest(outcome);
      }
      log({ sim: 'maa', method: req.method, path: req.path, status: res.statusCode });
    });
    // Remember the error code for the stats, whoever sends it (fault injection included).
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (typeof code === 'string') res.locals['errorCode'] = code;
      return json(body);
    };
    next();
  });

  app.get('/_simulator/stats', (_req, res) =>
    sendJson(res, 200, {
      ...stats.snapshot(),
      injected: faults.injected,
      signingKeys: service.signingKeys.kids(),
    }),
  );
  faultsEndpoint(app, faults, options.adminToken);

  app.use(faults.middleware());

  app.get('/certs', (_req, res) => sendJson(res, 200, service.jwks()));
  app.get('/.well-known/openid-configuration', (_req, res) =>
    sendJson(res, 200, service.openIdConfiguration()),
  );
  app.post(
    '/attest/:type',
    (req, _res, next) => {
      const type = req.params['type'];
      if (typeof type !== 'string' || !['sevsnpvm', 'azureguest'].includes(type.toLowerCase())) {
        throw new MaaError(
          'NotImplemented',
          'unsupported-attestation-type',
          `Attestation type '${String(type)}' is not simulated; the SecureKey MAA simulator attests SevSnpVm and AzureGuest only.`,
        );
      }
      apiVersionOf(new URL(req.originalUrl, 'https://maa.invalid').searchParams);
      next();
    },
    express.raw({ type: () => true, limit: BODY_LIMIT }),
    (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const guest = String(req.params['type']).toLowerCase() === 'azureguest';
      sendJson(res, 200, guest ? service.attestAzureGuest(body) : service.attestSevSnpVm(body));
    },
  );

  app.use((req, _res, next) => {
    next(
      new MaaError('NotFound', 'not-found', `The requested path ${req.method} ${req.path} does not exist.`),
    );
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof MaaError) return sendError(res, err);
    const e = err as { type?: unknown; status?: unknown; message?: unknown };
    if (e.type === 'entity.too.large') {
      return sendError(
        res,
        new MaaError('RequestEntityTooLarge', 'body-too-large', `The request body exceeds ${BODY_LIMIT}.`),
      );
    }
    log({ sim: 'maa', error: String(e.message ?? err) });
    return cloudError(
      res,
      500,
      'InternalServerError',
      'The attestation simulator failed to handle the request.',
    );
  });
  return app;
}
