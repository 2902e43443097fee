/**
 * The HTTPS agent every SecureKey Azure client uses: keep-alive, `.localhost` names resolved to loopback
 * (loopback-lookup.ts), and, when a CA is given, trust in exactly that CA.
 *
 * Why "instead of" and not "in addition to" the system roots: a client given a CA is talking to a
 * simulator, and must accept nothing else — a typo in a simulated vault URL then fails the TLS
 * handshake instead of reaching a real service, and a simulator's CA never widens the trust of a client
 * that talks to real Azure. Without a CA the agent uses Node's default roots, as the SDK would.
 */
import https from 'node:https';
import { loopbackLookup } from './loopback-lookup.ts';

export interface HttpsAgentOptions {
  /** PEM of the only CA to trust (one or more certificates). Omit to use the system roots. */
  caPem?: string;
  /** Default true, as the Azure SDK's own agent. */
  keepAlive?: boolean;
}

export function httpsAgent(options: HttpsAgentOptions = {}): https.Agent {
  return new https.Agent({
    keepAlive: options.keepAlive ?? true,
    lookup: loopbackLookup,
    ...(options.caPem === undefined ? {} : { ca: options.caPem }),
  });
}
