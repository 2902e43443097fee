/**
 * The HTTPS agent every SecureKey client uses (Azure, the Kubernetes API): `.localhost` names resolved to
 * loopback (loopback-lookup.ts), and, when a CA is given, trust in exactly that CA.
 *
 * Why "instead of" and not "in addition to" the system roots: a client given a CA is talking to a
 * simulator (or to an API server with its own CA), and must accept nothing else — a typo in a simulated
 * vault URL then fails the TLS handshake instead of reaching a real service, and a simulator's CA never
 * widens the trust of a client that talks to real Azure. Without a CA the agent uses Node's default
 * roots, as the SDK would.
 */
import https from 'node:https';
import { loopbackLookup } from './loopback-lookup.ts';

export interface HttpsAgentOptions {
  /** PEM of the only CA to trust (one or more certificates). Omit to use the system roots. */
  caPem?: string;
  /** Default true, as the Azure SDK's own agent. */
  keepAlive?: boolean;
  /** Connections per host; default Node's (unbounded). */
  maxSockets?: number;
  /** A client certificate and its key (PEM): mutual TLS, as a kubeconfig may ask. */
  clientCert?: { certPem: string; keyPem: string };
  /** The name the server's certificate must carry when it differs from the URL's host (kubeconfig `tls-server-name`). */
  servername?: string;
  /** False only when a kubeconfig says `insecure-skip-tls-verify`. */
  rejectUnauthorized?: boolean;
}

export function httpsAgent(options: HttpsAgentOptions = {}): https.Agent {
  return new https.Agent({
    keepAlive: options.keepAlive ?? true,
    lookup: loopbackLookup,
    ...(options.caPem === undefined ? {} : { ca: options.caPem }),
    ...(options.maxSockets === undefined ? {} : { maxSockets: options.maxSockets }),
    ...(options.clientCert === undefined
      ? {}
      : { cert: options.clientCert.certPem, key: options.clientCert.keyPem }),
    ...(options.servername === undefined ? {} : { servername: options.servername }),
    ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
  });
}
