/**
 * Starts the simulated Entra ID over HTTPS with a certificate from the simulator CA. Its URL is the
 * `authorityHost` clients use (with `disableInstanceDiscovery: true`, which edge/azure's credential
 * factories set for any non-Microsoft authority).
 */
import { FaultInjector } from '../common/http.ts';
import { listenSimulator } from '../common/server-kit.ts';
import type { SimulatorCa } from '../common/tls.ts';
import { entraApp } from './app.ts';
import type { EntraOptions } from './config.ts';
import { EntraService } from './entra-service.ts';

export interface StartEntraOptions extends EntraOptions {
  ca: SimulatorCa;
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Default: an ephemeral port. */
  port?: number;
  /** Name in the URL and the certificate; default `login.localhost` (resolved by edge/http's loopback lookup). */
  publicHost?: string;
  log?: (event: Record<string, unknown>) => void;
}

export interface RunningEntra {
  /** `https://login.localhost:<port>`: the authority host. */
  url: string;
  tenantId: string;
  /** PEM of the CA clients must trust. */
  caPem: string;
  service: EntraService;
  faults: FaultInjector;
  /** Token requests naming `clientId` so far (successful or not). */
  tokenRequests(clientId: string): number;
  close(): Promise<void>;
}

export async function startEntra(options: StartEntraOptions): Promise<RunningEntra> {
  const publicHost = options.publicHost ?? 'login.localhost';
  const server = await listenSimulator({
    ca: options.ca,
    publicHost,
    certificate: {
      commonName: `${publicHost} (simulated Entra ID)`,
      dns: [publicHost, 'localhost'],
      ip: ['127.0.0.1'],
    },
    host: options.host,
    port: options.port,
  });
  const signing = options.ca.issue({
    commonName: `${publicHost} token signing (simulated Entra ID)`,
    usage: 'signing',
    keyType: 'rsa',
  });
  const service = new EntraService(options, server.url, { key: signing.key, certDer: signing.certDer });
  const faults = new FaultInjector();
  // The app needs the server's URL (kids, token issuer), so it is attached once the server listens.
  server.attach(
    entraApp(service, {
      faults,
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  );
  return {
    url: server.url,
    tenantId: options.tenantId,
    caPem: options.ca.certPem,
    service,
    faults,
    tokenRequests: (clientId) => service.counters.tokenRequests[clientId] ?? 0,
    close: async () => {
      await server.close();
      service.close();
    },
  };
}
