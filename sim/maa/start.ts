/**
 * Starts a simulated Microsoft Azure Attestation provider over HTTPS with a simulator-CA certificate.
 *
 * Addressing mirrors `<name>.<region>.attest.azure.net`: the default host is
 * `<name>.attest.localhost` (clients resolve `*.localhost` to loopback, edge/http loopbackLookup),
 * and the token issuer is the server's URL, so a vault that discovers `{iss}/.well-known/…` reaches
 * this server. In a cluster, set `publicHost` (and `issuer` if the URL clients use differs).
 */
import { FaultInjector } from '../common/http.ts';
import { listenSimulator } from '../common/server-kit.ts';
import type { SimulatorCa } from '../common/tls.ts';
import { maaApp } from './app.ts';
import { MaaService, type MaaServiceOptions } from './maa-service.ts';
import { MaaStats } from './stats.ts';

export interface StartMaaOptions extends Omit<MaaServiceOptions, 'ca' | 'issuer'> {
  ca: SimulatorCa;
  /** Instance name in the default host; default `securekey-sim`. */
  name?: string;
  /** Host in the URL and the TLS certificate; default `<name>.attest.localhost`. */
  publicHost?: string;
  /** Listen address, default 127.0.0.1; port default ephemeral. */
  host?: string;
  port?: number;
  /** The token issuer and base URL; default the server's `https://<publicHost>:<port>`. */
  issuer?: string;
  adminToken?: string;
  log?: (event: Record<string, unknown>) => void;
}

export interface RunningMaa {
  /** `https://<publicHost>:<port>`, where the server listens. */
  url: string;
  /** The `iss` of its tokens (= `url` unless configured). */
  issuer: string;
  publicHost: string;
  /** PEM of the CA clients must trust. */
  caPem: string;
  service: MaaService;
  stats: MaaStats;
  faults: FaultInjector;
  /** Signs new tokens with a fresh key; older keys stay in `/certs`. Returns the new kid. */
  rotateSigningKey(): string;
  /** Removes an older key from `/certs`: tokens it signed stop verifying. */
  retireSigningKey(kid: string): boolean;
  /** Kids in `/certs`, oldest first; the last one signs. */
  signingKeyIds(): string[];
  close(): Promise<void>;
}

export async function startMaa(options: StartMaaOptions): Promise<RunningMaa> {
  const publicHost = options.publicHost ?? `${options.name ?? 'securekey-sim'}.attest.localhost`;
  const server = await listenSimulator({
    ca: options.ca,
    publicHost,
    certificate: { commonName: `${publicHost} (simulated Azure Attestation)`, dns: [publicHost] },
    host: options.host,
    port: options.port,
  });
  let service: MaaService;
  try {
    service = new MaaService({ ...options, issuer: options.issuer ?? server.url });
  } catch (err) {
    await server.close();
    throw err;
  }
  const stats = new MaaStats();
  const faults = new FaultInjector();
  // The app needs the server's URL (issuer, jku), so it is attached once the server listens.
  server.attach(
    maaApp({
      service,
      stats,
      faults,
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  );
  return {
    url: server.url,
    issuer: service.issuer,
    publicHost,
    caPem: options.ca.certPem,
    service,
    stats,
    faults,
    rotateSigningKey: () => service.signingKeys.rotate(),
    retireSigningKey: (kid) => service.signingKeys.retire(kid),
    signingKeyIds: () => service.signingKeys.kids(),
    close: () => server.close(),
  };
}
