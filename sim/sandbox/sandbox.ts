/**
 * The local sandbox: every simulator on loopback, wired together as Azure and the AMD host would be,
 * with generated TLS. It is the embedded default the operator and agent use when no Azure is
 * configured, and what `npm run sandbox` starts for a person. SIMULATORS ONLY — never production.
 *
 *   CA ─┬─ identity issuer (plays the Kubernetes service-account issuer) ─→ token files
 *       ├─ Entra ID (trusts the identity issuer: workload identity federation)
 *       ├─ Managed HSM (operator identity: crypto officer; agent identity: release only)
 *       ├─ Azure Attestation (trusts the fake AMD root, and the simulated UVM signing root)
 *       ├─ AMD host: fake ARK/ASK/VCEK and a report signer with HOST_DATA fixed at launch
 *       ├─ THIM (IMDS-style, plain HTTP as IMDS is) and AMD KDS certificate paths
 *       ├─ IMDS identity endpoint: the agent's managed identity, tokens signed by the Entra tenant
 *       ├─ PSP service: reports for registered pods, HOST_DATA from each pod's own policy annotation
 *       └─ UVM security context (<dir>/uvm-security-context): the guest image's signed reference info
 */
import { simulatedVtpmCa } from '../vtpm/vtpm-ca.ts';
import { referenceInfoFileContent, simulatedUvmSigningRoot } from '../uvm/index.ts';
import { parseReport } from '../../core/snp/index.ts';
import { REFERENCE_INFO_FILE } from '../../core/uvm/index.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FakeAmd, ReportSigner } from '../amd/index.ts';
import { startTestIssuer, type TestIssuer } from '../common/jwt/oidc-issuer.ts';
import { createSimulatorCa, type SimulatorCa } from '../common/tls.ts';
import { startEntra, type RunningEntra } from '../entra/start.ts';
import { startImds, type RunningImds } from '../imds/start.ts';
import { startMaa, type RunningMaa } from '../maa/start.ts';
import { startPsp, StaticPodIdentityResolver, type RunningPsp } from '../psp/index.ts';
import { startThim, type RunningThim } from '../thim/index.ts';
import { startVault, type RunningVault } from '../vault/start.ts';
import {
  AGENT_MANAGED_IDENTITY,
  IDENTITIES,
  SANDBOX_TENANT,
  writeTokenFiles,
  type SandboxIdentity,
} from './identities.ts';

export interface SandboxOptions {
  /** Where the CA, token files and state go (0700). Use tmpfs or a throwaway directory. */
  dir: string;
  /** HOST_DATA the simulated guest is launched with (64 hex); default all zero (no policy). */
  hostData?: string;
  /** Keep the vault's keys in `<dir>/vault-state.json` so a restarted sandbox loses nothing. */
  persist?: boolean;
  /** Fixed ports (0 or absent: ephemeral). */
  ports?: { vault?: number; maa?: number; entra?: number };
  log?: (event: Record<string, unknown>) => void;
  /** The vault's clock (tests that need keys created "earlier"); default Date.now. */
  vaultNow?: () => number;
  /**
   * Serve the Managed HSM and Entra ID under Azure's own names and audiences, for clients that hard-code
   * them (Microsoft's SKR sidecar asks for `https://managedhsm.azure.net` tokens at
   * `login.microsoftonline.com` and checks the vault's certificate against the host it was given, port
   * included). Each listens on its own loopback address, on port 443 unless told otherwise; clients
   * resolve the names through a hosts file and trust the sandbox CA (ADR 49). Off by default: these
   * certificates name Microsoft's hosts, so only a client told to trust this CA accepts them.
   */
  azureNames?: { port?: number; vaultAddress?: string; entraAddress?: string };
  /**
   * Entra's access-token lifetime (default 3599 s, Entra's): longer when the vault's clock runs ahead of
   * Entra's (a simulated hour), so that tokens issued now are still valid in the vault's time.
   */
  entraTokenLifetimeSeconds?: number;
}

/** Azure's names for the sandbox's Managed HSM and Entra ID, with `azureNames`. */
export const AZURE_NAMES = {
  vault: 'sandbox.managedhsm.azure.net',
  vaultResource: 'https://managedhsm.azure.net',
  entra: 'login.microsoftonline.com',
  vaultAddress: '127.0.0.2',
  entraAddress: '127.0.0.3',
} as const;

export interface Sandbox {
  ca: SimulatorCa;
  caFile: string;
  identity: TestIssuer;
  identities: SandboxIdentity[];
  entra: RunningEntra;
  vault: RunningVault;
  maa: RunningMaa;
  amd: FakeAmd;
  signer: ReportSigner;
  psp: RunningPsp;
  thim: RunningThim;
  /** IMDS's managed-identity endpoint (plain HTTP, standing for http://169.254.169.254). */
  imds: RunningImds;
  /** The simulated host's UVM security context directory (its `reference-info-base64` endorses `signer`'s image). */
  uvmSecurityContextDir: string;
  /** The pods the PSP knows (no API server in the sandbox): `addPod(pod, token)`. */
  pods: StaticPodIdentityResolver;
  /** Environment a client needs (operator or agent), by identity. */
  env(who: 'operator' | 'agent'): Record<string, string>;
  /** The agent's environment with its managed identity through IMDS instead of workload identity (ACI, VN2). */
  managedIdentityEnv(): Record<string, string>;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const ca = createSimulatorCa('SecureKey sandbox CA (simulators only)');
  const caFile = path.join(options.dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  const closers: Array<() => Promise<void>> = [];
  try {
    const identity = await startTestIssuer({ ca, publicHost: 'identity.sandbox.localhost' });
    closers.push(() => identity.close());
    const identities = writeTokenFiles(identity, options.dir);
    const azure = options.azureNames;
    const entraPort = azure ? (azure.port ?? 443) : options.ports?.entra;
    const entra = await startEntra({
      ca,
      ...(azure
        ? { publicHost: AZURE_NAMES.entra, host: azure.entraAddress ?? AZURE_NAMES.entraAddress }
        : {}),
      tenantId: SANDBOX_TENANT,
      assertionIssuers: [{ issuer: identity.issuer, jwks: identity.jwks }],
      applications: IDENTITIES.map((id) => ({
        clientId: id.clientId,
        displayName: `securekey-${id.name}`,
        federatedCredentials: [{ issuer: identity.issuer, subject: id.subject }],
      })),
      ...(options.entraTokenLifetimeSeconds === undefined
        ? {}
        : { tokenLifetimeSeconds: options.entraTokenLifetimeSeconds }),
      ...port(entraPort),
    });
    closers.push(() => entra.close());
    const amd = new FakeAmd({ product: 'Milan' });
    const signer = new ReportSigner(amd, {
      hostData: Buffer.from(options.hostData ?? '0'.repeat(64), 'hex'),
    });
    const maa = await startMaa({
      ca,
      name: 'sandbox',
      trustedArks: [amd.ark],
      // AzureGuest: the AK of a simulated vTPM (sim/vtpm) is issued by this fixed CA.
      vtpmCa: simulatedVtpmCa().certDer,
      // SevSnpVm: the compliance status comes from a UVM endorsement chaining to this fixed root.
      uvmSigningRoots: [simulatedUvmSigningRoot()],
      ...port(options.ports?.maa),
    });
    closers.push(() => maa.close());
    // What a Confidential ACI host mounts beside the container: the reference info of the guest's UVM.
    const uvmSecurityContextDir = path.join(options.dir, 'uvm-security-context');
    mkdirSync(uvmSecurityContextDir, { recursive: true, mode: 0o700 });
    const { measurement } = parseReport(signer.sign({ reportData: Buffer.alloc(64) }));
    writeFileSync(
      path.join(uvmSecurityContextDir, REFERENCE_INFO_FILE),
      referenceInfoFileContent({ measurement }),
    );
    const thim = await startThim({ amd });
    closers.push(() => thim.close());
    const imds = await startImds({ entra: entra.service, identities: [AGENT_MANAGED_IDENTITY] });
    closers.push(() => imds.close());
    const pods = new StaticPodIdentityResolver();
    const psp = await startPsp({ ca, amd, resolver: pods, publicHost: 'psp.sandbox.localhost' });
    closers.push(() => psp.close());
    const [operator, agent] = identities as [SandboxIdentity, SandboxIdentity];
    const vault = await startVault({
      ca,
      flavour: 'managedhsm',
      name: 'sandbox',
      // With Azure's names the vault is given Entra's keys: it need not resolve login.microsoftonline.com.
      entra: {
        authorityHost: entra.url,
        tenantId: SANDBOX_TENANT,
        caPem: ca.certPem,
        ...(azure ? { jwks: entra.service.jwks() } : {}),
      },
      ...(azure
        ? {
            publicHost: AZURE_NAMES.vault,
            resource: AZURE_NAMES.vaultResource,
            host: azure.vaultAddress ?? AZURE_NAMES.vaultAddress,
          }
        : {}),
      attestation: { caPem: ca.certPem },
      roleAssignments: [
        { principalId: operator.clientId, roles: ['crypto-officer'] },
        { principalId: agent.clientId, roles: ['release-user'] },
        { principalId: AGENT_MANAGED_IDENTITY.objectId, roles: ['release-user'] },
      ],
      ...(options.persist ? { statePath: path.join(options.dir, 'vault-state.json') } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.vaultNow ? { now: options.vaultNow } : {}),
      ...port(azure ? (azure.port ?? 443) : options.ports?.vault),
    });
    closers.push(() => vault.close());
    const env = (who: 'operator' | 'agent'): Record<string, string> => {
      const id = identities.find((i) => i.name === who)!;
      return {
        AZURE_AUTHORITY_HOST: entra.url,
        AZURE_TENANT_ID: SANDBOX_TENANT,
        AZURE_CLIENT_ID: id.clientId,
        AZURE_FEDERATED_TOKEN_FILE: id.tokenFile,
        SECUREKEY_CA_FILE: caFile,
        SECUREKEY_VAULT_URL: vault.url,
        SECUREKEY_ATTESTATION_URL: maa.url,
        SECUREKEY_PSP_URL: psp.url,
        SECUREKEY_THIM_URL: thim.url,
        SECUREKEY_SIMULATORS: 'true',
        ...(who === 'agent' ? { UVM_SECURITY_CONTEXT_DIR: uvmSecurityContextDir } : {}),
      };
    };
    return {
      ca,
      caFile,
      identity,
      identities,
      entra,
      vault,
      maa,
      amd,
      signer,
      psp,
      thim,
      imds,
      uvmSecurityContextDir,
      pods,
      env,
      managedIdentityEnv() {
        const {
          AZURE_AUTHORITY_HOST: _authority,
          AZURE_TENANT_ID: _tenant,
          AZURE_CLIENT_ID: _client,
          AZURE_FEDERATED_TOKEN_FILE: _tokenFile,
          ...rest
        } = env('agent');
        return { ...rest, SECUREKEY_IDENTITY: 'managed', SECUREKEY_IMDS_URL: imds.url };
      },
      async close() {
        for (const close of closers.reverse()) await close();
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close();
    throw err;
  }
}

function port(p: number | undefined): { port?: number } {
  return p ? { port: p } : {};
}
