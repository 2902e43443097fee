#!/usr/bin/env node
/**
 * The simulators as one pod in a cluster (the Helm chart's `simulators.enabled`, for kind and demos):
 * Managed HSM, Azure Attestation, Entra ID and the mock PSP, wired as in the sandbox but with the
 * cluster's own parts where the sandbox plays them:
 *   - workload identity: Entra trusts the cluster's service-account issuer (its keys read from the API
 *     server), with federated credentials for the operator's and the workloads' service accounts;
 *   - evidence: the PSP authenticates a pod by its projected token (TokenReview) and reports the digest of
 *     that pod's own policy annotation as HOST_DATA;
 *   - TLS: leaf certificates from the release's CA, which the chart generated and gave to the operator.
 * SIMULATORS ONLY — mocked mode isolates nothing (README).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, logEvents } from '../../edge/log/log.ts';
import { FakeAmd } from '../amd/index.ts';
import { loadSimulatorCa, withPersistentSigningKeys } from '../common/tls.ts';
import type { Jwks } from '../entra/issuer-keys.ts';
import { startEntra } from '../entra/start.ts';
import { startMaa } from '../maa/start.ts';
import { KubernetesPodIdentityResolver, startPsp } from '../psp/index.ts';
import { IDENTITIES, SANDBOX_TENANT } from '../sandbox/identities.ts';
import { startVault } from '../vault/start.ts';
import { parseClusterSimulatorsConfig } from './config.ts';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const logger = createLogger({ component: 'simulators', write: (line) => void process.stdout.write(line) });
/** The simulators' request and error events, as log lines. */
const log = logEvents(logger, 'request');

/** The cluster's service-account issuer and its keys, read with this pod's own token. */
async function clusterIssuer(): Promise<{ issuer: string; jwks: Jwks }> {
  const token = readFileSync(`${SA_DIR}/token`, 'utf8').trim();
  const ca = readFileSync(`${SA_DIR}/ca.crt`, 'utf8');
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    iss?: string;
  };
  if (!payload.iss) throw new Error('the pod service-account token has no iss claim');
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = process.env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a cluster');
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      {
        host,
        port,
        path: '/openid/v1/jwks',
        ca,
        headers: { authorization: `Bearer ${token}` },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(text)
            : reject(new Error(`GET /openid/v1/jwks from the API server answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('GET /openid/v1/jwks timed out')));
  });
  return { issuer: payload.iss, jwks: JSON.parse(body) as Jwks };
}

const config = parseClusterSimulatorsConfig(process.env);
const loaded = loadSimulatorCa(
  readFileSync(`${config.caDir}/ca.crt`, 'utf8'),
  readFileSync(`${config.caDir}/ca.key`, 'utf8'),
);
// Signing keys kept beside the vault's state: a restarted container still verifies the tokens it issued
// (the operator caches its Entra token for an hour).
const ca = config.statePath ? withPersistentSigningKeys(loaded, path.dirname(config.statePath)) : loaded;
const issuer = await clusterIssuer();
const [operator, agent] = IDENTITIES as [(typeof IDENTITIES)[number], (typeof IDENTITIES)[number]];
const all = { host: '0.0.0.0', log };
const entra = await startEntra({
  ca,
  tenantId: SANDBOX_TENANT,
  assertionIssuers: [issuer],
  applications: [
    {
      clientId: operator.clientId,
      displayName: 'securekey-operator',
      federatedCredentials: [{ issuer: issuer.issuer, subject: config.operatorSubject }],
    },
    {
      clientId: agent.clientId,
      displayName: 'securekey-agent',
      federatedCredentials: config.workloadSubjects.map((subject) => ({ issuer: issuer.issuer, subject })),
    },
  ],
  publicHost: config.host,
  port: config.ports.entra,
  ...all,
});
const amd = new FakeAmd({ product: 'Milan' });
const maa = await startMaa({
  ca,
  name: 'cluster',
  trustedArks: [amd.ark],
  publicHost: config.host,
  port: config.ports.maa,
  ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  ...all,
});
const kubeConfig = new KubeConfig();
kubeConfig.loadFromCluster();
const psp = await startPsp({
  ca,
  amd,
  resolver: new KubernetesPodIdentityResolver({ kubeConfig, audience: config.pspAudience }),
  ...(config.pspNamespaces.length ? { allowedNamespaces: config.pspNamespaces } : {}),
  publicHost: config.host,
  port: config.ports.psp,
  ...all,
});
const vault = await startVault({
  ca,
  flavour: 'managedhsm',
  name: 'cluster',
  publicHost: config.vaultHost,
  resource: config.vaultResource,
  entra: { authorityHost: entra.url, tenantId: SANDBOX_TENANT, caPem: ca.certPem },
  attestation: { caPem: ca.certPem },
  roleAssignments: [
    { principalId: operator.clientId, roles: ['crypto-officer'] },
    { principalId: agent.clientId, roles: ['release-user'] },
  ],
  port: config.ports.vault,
  ...(config.statePath ? { statePath: config.statePath } : {}),
  ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  ...all,
});
logger.info('simulators ready (SIMULATORS — not Azure, not AMD hardware)', {
  vault: vault.url,
  attestation: maa.url,
  entra: entra.url,
  psp: psp.url,
  issuer: issuer.issuer,
  operatorClientId: operator.clientId,
  agentClientId: agent.clientId,
});

const stop = async () => {
  for (const s of [vault, psp, maa, entra]) await s.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
