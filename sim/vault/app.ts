/**
 * HTTP face of the simulated vault. The order of the checks is the service's: the bearer challenge
 * first (the SDK's probe has no body and no token), then api-version, the route, fault injection
 * (throttling is per authenticated caller), the caller's permission, and only then the body.
 * Every error has a JSON body — the SDK crashes on an empty one — and every 401 repeats the challenge.
 */
import { createHash } from 'node:crypto';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { cloudError, sendJson } from '../common/http.ts';
import type { FaultInjector } from '../common/http.ts';
import { faultsEndpoint, forbidden, isAdmin, simulatorApp } from '../common/server-kit.ts';
import { authorize } from './access.ts';
import type { Principal, RoleAssignment } from './access.ts';
import { apiVersionOf } from './api-version.ts';
import { authenticate, challengeHeader } from './bearer-auth.ts';
import type { BearerAuthOptions } from './bearer-auth.ts';
import { VaultError } from './errors.ts';
import { isWrongMethod, routeOf } from './routes.ts';
import type { VaultRoute } from './routes.ts';
import type { VaultStats } from './stats.ts';
import type { VaultService } from './vault-service.ts';

export interface VaultAppOptions {
  service: VaultService;
  auth: BearerAuthOptions;
  /** Read on every request: tests and the sandbox may change it at run time. */
  roleAssignments: RoleAssignment[];
  faults: FaultInjector;
  stats: VaultStats;
  /** Enables `PUT /_simulator/faults` for callers presenting `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  log?: (event: Record<string, unknown>) => void;
}

interface Locals {
  route?: VaultRoute;
  principal?: Principal;
  apiVersion?: string;
  query: URLSearchParams;
}

function locals(res: Response): Locals {
  return res.locals as Locals;
}

function sendError(res: Response, err: VaultError, auth: BearerAuthOptions): void {
  if (err.status === 401) res.set('WWW-Authenticate', challengeHeader(auth));
  cloudError(
    res,
    err.status,
    err.kind,
    err.message,
    err.innerCode === undefined ? undefined : { code: err.innerCode },
  );
}

export function vaultApp(options: VaultAppOptions): Express {
  const { service, auth, faults, stats } = options;
  const log = options.log ?? (() => {});
  const app = simulatorApp(service.flavour === 'managedhsm' ? 'managed-hsm' : 'key-vault');
  app.use((req, res, next) => {
    const url = new URL(req.originalUrl, 'https://vault.invalid');
    const route = routeOf(req.method, url.pathname);
    const l = locals(res);
    l.query = url.searchParams;
    if (route !== undefined && !isWrongMethod(route)) l.route = route;
    res.set('x-ms-keyvault-service-version', 'securekey-simulator');
    res.set('x-ms-keyvault-region', 'simulated');
    res.on('finish', () => {
      const operation =
        l.route?.operation ?? (url.pathname.startsWith('/_simulator/') ? 'simulator' : 'unknown');
      stats.record(operation, res.statusCode);
      log({
        sim: service.flavour,
        operation,
        method: req.method,
        path: url.pathname,
        status: res.statusCode,
        caller: l.principal?.oid,
      });
    });
    next();
  });

  app.get('/_simulator/stats', (_req, res) =>
    sendJson(res, 200, { calls: stats.calls, writes: service.writes, injected: faults.injected }),
  );
  faultsEndpoint(app, faults, options.adminToken);
  // What end-to-end tests compare a released key with: SHA-256 of each version's material (raw bytes for
  // oct, PKCS#8 DER otherwise) — never the material itself.
  app.get('/_simulator/keys/:name/fingerprints', (req, res) => {
    if (!isAdmin(req, options.adminToken)) return forbidden(res);
    const key = service.snapshot().keys[String(req.params['name'])];
    if (key === undefined) {
      return sendJson(res, 404, { error: { code: 'KeyNotFound', message: 'No such key in the simulator.' } });
    }
    return sendJson(res, 200, {
      name: key.name,
      deleted: key.deleted !== undefined,
      versions: key.versions.map((v) => ({
        version: v.version,
        sha256: createHash('sha256').update(Buffer.from(v.material, 'base64')).digest('hex'),
      })),
    });
  });

  app.use(async (req, res, next) => {
    try {
      locals(res).principal = await authenticate(req.get('authorization'), auth);
      next();
    } catch (err) {
      next(err);
    }
  });
  app.use((req, res, next) => {
    const l = locals(res);
    l.apiVersion = apiVersionOf(l.query);
    if (l.route === undefined) {
      const r = routeOf(req.method, new URL(req.originalUrl, 'https://vault.invalid').pathname);
      if (isWrongMethod(r))
        throw new VaultError(
          'MethodNotAllowed',
          `The requested resource does not support http method '${req.method}'.`,
        );
      throw new VaultError('NotFound', `The requested path ${req.path} does not exist on this vault.`);
    }
    next();
  });
  app.use(faults.middleware());
  app.use((_req, res, next) => {
    const l = locals(res);
    authorize(
      (l.route as VaultRoute).operation,
      l.principal as Principal,
      options.roleAssignments,
      service.flavour,
    );
    next();
  });
  app.use(express.json({ limit: '1mb' }));
  app.use(async (req, res, next) => {
    try {
      await dispatch(service, req, res);
    } catch (err) {
      next(err);
    }
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof VaultError) return sendError(res, err, auth);
    const e = err as { type?: unknown; status?: unknown; message?: unknown };
    if (e.type === 'entity.parse.failed')
      return cloudError(res, 400, 'BadParameter', 'The request body is not valid JSON.');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return cloudError(res, e.status, 'BadParameter', String(e.message));
    }
    log({ sim: service.flavour, error: String(e.message ?? err) });
    return cloudError(res, 500, 'InternalServerError', 'The vault simulator failed to handle the request.');
  });
  return app;
}

async function dispatch(service: VaultService, req: Request, res: Response): Promise<void> {
  const l = locals(res);
  const { operation, name = '', version } = l.route as VaultRoute;
  const apiVersion = l.apiVersion as string;
  const body: unknown = req.body;
  switch (operation) {
    case 'listKeys':
      return sendJson(res, 200, service.listKeys(l.query, apiVersion));
    case 'createKey':
      return sendJson(res, 200, await service.createKey(name, body));
    case 'importKey':
      return sendJson(res, 200, service.importKey(name, body));
    case 'getKey':
      return sendJson(res, 200, service.getKey(name, version));
    case 'updateKey':
      return sendJson(res, 200, service.updateKey(name, version, body));
    case 'deleteKey':
      return sendJson(res, 200, service.deleteKey(name));
    case 'listVersions':
      return sendJson(res, 200, service.listVersions(name, l.query, apiVersion));
    case 'releaseKey':
      return sendJson(res, 200, await service.releaseKey(name, version, body, apiVersion));
    case 'rotateKey':
      return sendJson(res, 200, await service.rotateKey(name));
    case 'getRotationPolicy':
      return sendJson(res, 200, service.getRotationPolicy(name));
    case 'setRotationPolicy':
      return sendJson(res, 200, service.setRotationPolicy(name, body));
    case 'listDeletedKeys':
      return sendJson(res, 200, service.listDeletedKeys(l.query, apiVersion));
    case 'getDeletedKey':
      return sendJson(res, 200, service.getDeletedKey(name));
    case 'purgeDeletedKey':
      service.purgeDeletedKey(name);
      res.status(204).end();
      return;
    case 'recoverDeletedKey':
      return sendJson(res, 200, service.recoverDeletedKey(name));
    case 'backupKey':
      throw new VaultError('NotImplemented', 'Key backup is not simulated by the SecureKey vault simulator.');
  }
}
