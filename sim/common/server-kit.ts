/**
 * What every simulator's server is made of, once: an express app marked as a simulator that logs each
 * request, the admin endpoints (fault injection) behind the admin token, and a listener on host/port —
 * HTTPS with a certificate from the simulator CA, or plain HTTP — that answers 503 until the app is
 * attached (the app often needs the server's URL: token issuers, key ids).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import type { Express, Request, Response } from 'express';
import { parseFaultPlan, sendJson, serveHttp, serveHttps, simulatorMarker } from './http.ts';
import type { FaultInjector, RunningServer } from './http.ts';
import type { SimulatorCa } from './tls.ts';

export type SimulatorLog = (event: Record<string, unknown>) => void;

/**
 * An express app with the headers every simulator sends (and none that give express away). With `log`,
 * one line per answered request: `{sim, method, path, status}`.
 */
export function simulatorApp(sim: string, log?: SimulatorLog): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(simulatorMarker(sim));
  if (log !== undefined) {
    app.use((req, res, next) => {
      res.on('finish', () => log({ sim, method: req.method, path: req.path, status: res.statusCode }));
      next();
    });
  }
  return app;
}

/**
 * Whether the request presents the admin token: as a bearer token, or as `X-Simulator-Admin-Token`
 * (the API server's service proxy, how tests reach an in-cluster simulator, drops Authorization once it
 * has authenticated the caller). Without a configured token nobody is admin.
 */
export function isAdmin(req: Request, adminToken: string | undefined): boolean {
  return (
    adminToken !== undefined &&
    (req.get('authorization') === `Bearer ${adminToken}` || req.get('x-simulator-admin-token') === adminToken)
  );
}

export function forbidden(res: Response): void {
  sendJson(res, 403, {
    error: { code: 'Forbidden', message: 'The simulator admin endpoint needs the admin token.' },
  });
}

/** `PUT /_simulator/faults` (admin): replaces the fault plan (see FaultPlan). */
export function faultsEndpoint(app: Express, faults: FaultInjector, adminToken: string | undefined): void {
  app.put('/_simulator/faults', express.json(), (req, res) => {
    if (!isAdmin(req, adminToken)) return forbidden(res);
    faults.plan = parseFaultPlan(req.body);
    return sendJson(res, 200, { ok: true });
  });
}

export interface ListenOptions {
  /** HTTPS with a certificate from this CA; plain HTTP without. */
  ca?: SimulatorCa;
  /** Listen address; default 127.0.0.1. */
  host?: string | undefined;
  /** Default: an ephemeral port. */
  port?: number | undefined;
  /** Host name in the URL; default `host`. */
  publicHost?: string;
  /** The TLS certificate's subject CN and names (with `ca`). */
  certificate?: { commonName: string; dns?: string[]; ip?: string[] };
}

export interface SimulatorServer extends RunningServer {
  /** Starts answering with `handler`; until then every request gets 503 "starting". */
  attach(handler: RequestListener): void;
}

/** Listens as `options` say; attach the app once it is built. */
export async function listenSimulator(options: ListenOptions): Promise<SimulatorServer> {
  let handler: RequestListener = notReady;
  const dispatch: RequestListener = (req, res) => handler(req, res);
  const where = {
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.publicHost === undefined ? {} : { publicHost: options.publicHost }),
  };
  let server: RunningServer;
  if (options.ca === undefined) {
    server = await serveHttp(dispatch, where);
  } else {
    const name = options.certificate ?? { commonName: options.publicHost ?? 'localhost' };
    const tls = options.ca.issue({
      commonName: name.commonName,
      ...(name.dns === undefined ? {} : { dns: name.dns }),
      ...(name.ip === undefined ? {} : { ip: name.ip }),
    });
    server = await serveHttps(dispatch, { keyPem: tls.keyPem, certPem: tls.certPem, ...where });
  }
  return {
    ...server,
    attach: (h) => {
      handler = h;
    },
  };
}

function notReady(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
  res.end(JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'The simulator is starting.' } }));
}
