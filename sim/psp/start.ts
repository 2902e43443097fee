/**
 * Starts the mock PSP over HTTPS with a certificate from the simulator CA.
 */
import { FaultInjector } from '../common/http.ts';
import { listenSimulator } from '../common/server-kit.ts';
import type { SimulatorCa } from '../common/tls.ts';
import { pspApp } from './app.ts';
import { PspService, type PspServiceOptions } from './psp-service.ts';

export interface StartPspOptions extends PspServiceOptions {
  readonly ca: SimulatorCa;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly port?: number;
  /** Name in the URL and the certificate; default `localhost`. */
  readonly publicHost?: string;
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface RunningPsp {
  readonly url: string;
  /** PEM of the CA clients must trust. */
  readonly caPem: string;
  readonly service: PspService;
  readonly faults: FaultInjector;
  close(): Promise<void>;
}

export async function startPsp(options: StartPspOptions): Promise<RunningPsp> {
  const publicHost = options.publicHost ?? 'localhost';
  const service = new PspService(options);
  const faults = new FaultInjector();
  const server = await listenSimulator({
    ca: options.ca,
    publicHost,
    certificate: {
      commonName: `${publicHost} (simulated SEV-SNP PSP)`,
      dns: [publicHost, 'localhost'],
      ip: ['127.0.0.1'],
    },
    host: options.host,
    port: options.port,
  });
  server.attach(pspApp(service, { faults, ...(options.log ? { log: options.log } : {}) }));
  return { url: server.url, caPem: options.ca.certPem, service, faults, close: server.close };
}
