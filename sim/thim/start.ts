/**
 * Starts the simulated THIM / KDS endpoint on loopback: plain HTTP by default (IMDS is plain HTTP),
 * or HTTPS with a certificate from the simulator CA when one is given (KDS is HTTPS).
 */
import { FaultInjector } from '../common/http.ts';
import { listenSimulator } from '../common/server-kit.ts';
import type { SimulatorCa } from '../common/tls.ts';
import { thimApp } from './app.ts';
import { ThimService, type ThimServiceOptions } from './thim-service.ts';

export interface StartThimOptions extends ThimServiceOptions {
  /** Serve HTTPS with a certificate from this CA; default plain HTTP. */
  readonly ca?: SimulatorCa;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default an ephemeral port. */
  readonly port?: number;
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface RunningThim {
  /** `http://127.0.0.1:<port>` (or https), without a trailing slash. */
  readonly url: string;
  readonly service: ThimService;
  readonly faults: FaultInjector;
  close(): Promise<void>;
}

export async function startThim(options: StartThimOptions): Promise<RunningThim> {
  const service = new ThimService(options);
  const faults = new FaultInjector();
  const app = thimApp(service, { faults, ...(options.log ? { log: options.log } : {}) });
  const server = await listenSimulator({
    ...(options.ca === undefined
      ? {}
      : {
          ca: options.ca,
          certificate: { commonName: 'simulated THIM / AMD KDS', dns: ['localhost'], ip: ['127.0.0.1'] },
        }),
    host: options.host,
    port: options.port,
  });
  server.attach(app);
  return { url: server.url, service, faults, close: server.close };
}
