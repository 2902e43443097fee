/**
 * The node agent as a process (`securekey-agent node-server`): the Kubernetes client of its service
 * account, the configured key source, the key cache and the HTTPS server, stopped on SIGTERM with every
 * key wiped.
 */
import { defaultKubeAccess } from '../../edge/kube/kubeconfig.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import type { Logger } from '../../edge/log/log.ts';
import { parseAgentConfig } from '../config.ts';
import type { Env } from '../config/options.ts';
import type { NodeServerConfig } from './config.ts';
import { keyRefName, type KeySource } from './key-source.ts';
import { NodeServerMetrics } from './metrics.ts';
import { nodeKube } from './node-kube.ts';
import { AzureGuestKeySource } from './azure-guest-source.ts';
import { PodAttestationKeySource } from './pod-attestation-source.ts';
import { ReleasedKeys } from './released-keys.ts';
import { startNodeServer, type NodeServer } from './server.ts';

export interface NodeAgent {
  server: NodeServer;
  stop(): Promise<void>;
}

function keySourceFor(config: NodeServerConfig, env: Env): KeySource {
  switch (config.keySource) {
    case 'azure-guest':
      // Entra, THIM, the CA and the release's trust roots from pod mode's variables (AZURE_CLIENT_ID, …).
      return new AzureGuestKeySource({
        config: parseAgentConfig(['init'], env, { keys: false }),
        tpm: config.tpm,
        tcgLog: config.tcgLog,
      });
    case 'pod-attestation':
      // How to attest and release, from pod mode's variables (SECUREKEY_EVIDENCE, AZURE_CLIENT_ID, …).
      return new PodAttestationKeySource(parseAgentConfig(['init'], env, { keys: false }));
  }
}

export async function startNodeAgent(
  config: NodeServerConfig,
  deps: { env: Env; log: Logger; source?: KeySource },
): Promise<NodeAgent> {
  const source = deps.source ?? keySourceFor(config, deps.env);
  const kube = new KubeHttp(defaultKubeAccess(deps.env as NodeJS.ProcessEnv));
  const metrics = new NodeServerMetrics();
  const keys = new ReleasedKeys(source, {
    onRelease: (ref, outcome, ms) => {
      metrics.release(outcome);
      deps.log.info('release', { keyId: keyRefName(ref), outcome, ms: Math.round(ms) });
    },
  });
  const server = await startNodeServer({
    port: config.port,
    certFile: config.certFile,
    keyFile: config.keyFile,
    serve: {
      kube: nodeKube(kube, { secureKeyTtlMs: config.secureKeyTtlMs }),
      keys,
      nodeName: config.nodeName,
      // Pods on a confidential-VM node run runc: no runtime class, or one the cluster names for it.
      admission: { runtimeClasses: config.runtimeClasses, noRuntimeClass: true },
    },
    source,
    metrics,
    maxInFlight: config.maxInFlight,
    requestTimeoutMs: config.requestTimeoutMs,
    log: deps.log,
  });
  return {
    server,
    async stop() {
      await server.close();
      keys.clear();
      kube.close();
      await source.close?.();
    },
  };
}
