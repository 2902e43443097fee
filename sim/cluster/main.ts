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
import { simulatedVtpmCa } from '../vtpm/vtpm-ca.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { inClusterAccess } from '../../edge/kube/kubeconfig.ts';
import { serviceAccountJwks } from '../../edge/kube/service-account-issuer.ts';
import { createLogger, logEvents } from '../../edge/log/log.ts';
import { FakeAmd } from '../amd/index.ts';
import { loadSimulatorCa, withPersistentSigningKeys } from '../common/tls.ts';
import type { Jwks } from '../common/jwt/issuer-keys.ts';
import { startEntra } from '../entra/start.ts';
import { startMaa } from '../maa/start.ts';
import { simulatedUvmSigningRoot } from '../uvm/index.ts';
import { startThim } from '../thim/start.ts';
import { KubernetesPodIdentityResolver, startPsp } from '../psp/index.ts';
import { IDENTITIES, SANDBOX_TENANT } from '../sandbox/identities.ts';
import { startVault } from '../vault/start.ts';
import { parseClusterSimulatorsConfig } from './config.ts';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const logger = createLogger({ component: 'simulators', write: (line) => void process.stdout.write(line) });
/** The simulators' request and error events, as log lines. */
const log = logEvents(logger, 'request');

/** The cluster's service-account issuer (this pod's own token names it) and its keys. */
async function clusterIssuer(kube: KubeHttp): Promise<{ issuer: string; jwks: Jwks }> {
  const token = readFileSync(`${SA_DIR}/token`, 'utf8').trim();
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    iss?: string;
  };
  if (!payload.iss) throw new Error('the pod service-account token has no iss claim');
  return {
    issuer: payload.iss,
    jwks: (await serviceAccountJwks(kube)) as Jwks,
  };
}

const config = parseClusterSimulatorsConfig(process.env);
const loaded = loadSimulatorCa(
  readFileSync(`${config.caDir}/ca.crt`, 'utf8'),
  readFileSync(`${config.caDir}/ca.key`, 'utf8'),
);
// Signing keys kept beside the vault's state: a restarted container still verifies the tokens it issued
// (the operator caches its Entra token for an hour).
const ca = config.statePath ? withPersistentSigningKeys(loaded, path.dirname(config.statePath)) : loaded;
const kube = new KubeHttp(inClusterAccess(process.env, SA_DIR));
const issuer = await clusterIssuer(kube);
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
  // AzureGuest: node agents attest through a simulated vTPM (sim/vtpm) whose AK this fixed CA issued.
  vtpmCa: simulatedVtpmCa().certDer,
  // SevSnpVm: the compliance status comes from the UVM endorsement the PSP hands each pod (sim/uvm).
  uvmSigningRoots: [simulatedUvmSigningRoot()],
  publicHost: config.host,
  port: config.ports.maa,
  ...(config.adminToken ? { adminToken: config.adminToken } : {}),
  ...all,
});
const psp = await startPsp({
  ca,
  amd,
  resolver: new KubernetesPodIdentityResolver({ http: kube, audience: config.pspAudience }),
  ...(config.pspNamespaces.length ? { allowedNamespaces: config.pspNamespaces } : {}),
  publicHost: config.host,
  port: config.ports.psp,
  ...all,
});
// THIM as IMDS serves it (plain HTTP) for node agents: the VCEK chain of this fixture chip, which is also
// the chip of every simulated vTPM (sim/amd's default), so the reports they sign verify against it.
const thim = await startThim({ amd, host: '0.0.0.0', port: config.ports.thim, log });
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
  thim: thim.url,
  issuer: issuer.issuer,
  operatorClientId: operator.clientId,
  agentClientId: agent.clientId,
});

const stop = async () => {
  for (const s of [vault, thim, psp, maa, entra]) await s.close();
  kube.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
