/**
 * Starts a simulated Key Vault (Premium) or Managed HSM over HTTPS, one vault per origin as in Azure.
 *
 * Addressing (docs/adr/0007-simulated-vault-hostnames.md): a vault named `kv1` is
 * `https://kv1.vault.localhost:<port>` with challenge resource `https://vault.localhost`, an HSM
 * `https://hsm1.managedhsm.localhost:<port>` with `https://managedhsm.localhost` — mirroring
 * vault.azure.net / managedhsm.azure.net, so the SDK's challenge-resource check passes unchanged.
 * Clients resolve `*.localhost` to loopback (edge/http loopbackLookup). In a cluster, set
 * `publicHost` and `resource` (the host must end with "." + the resource's host).
 */
import { FaultInjector } from '../common/http.ts';
import { listenSimulator } from '../common/server-kit.ts';
import type { SimulatorCa } from '../common/tls.ts';
import { IssuerKeys } from '../common/jwt/issuer-keys.ts';
import type { Jwks, TrustedIssuer } from '../common/jwt/issuer-keys.ts';
import type { RoleAssignment } from './access.ts';
import { vaultApp } from './app.ts';
import { accessTokenIssuer } from './bearer-auth.ts';
import type { BearerAuthOptions } from './bearer-auth.ts';
import type { VaultFlavour, VaultState } from './state.ts';
import { VaultStats } from './stats.ts';
import { FileStore, MemoryStore } from './store.ts';
import { VaultService } from './vault-service.ts';

export interface StartVaultOptions {
  ca: SimulatorCa;
  /** Default `keyvault` (Premium). */
  flavour?: VaultFlavour;
  /** Vault / HSM name; default `securekey-sim`. */
  name?: string;
  /** Host in URLs, kids and certificates; default `<name>.vault.localhost` / `<name>.managedhsm.localhost`. */
  publicHost?: string;
  /** Challenge resource and token audience; default `https://vault.localhost` / `https://managedhsm.localhost`. */
  resource?: string;
  /** Listen address, default 127.0.0.1; port default ephemeral. */
  host?: string;
  port?: number;
  /** Who issues the bearer tokens the vault accepts. */
  entra: {
    authorityHost: string;
    tenantId: string;
    /** CA for fetching the tenant's keys; or give `jwks` to skip fetching. */
    caPem?: string;
    jwks?: Jwks;
  };
  roleAssignments?: RoleAssignment[];
  /** How attestation issuers' keys are found: discovery trusting `caPem`, or configured issuers. */
  attestation?: { caPem?: string; trusted?: TrustedIssuer[]; skewSeconds?: number };
  /**
   * Keep the state in this JSON file (mode 0600, rewritten atomically, reloaded on start). It holds the
   * simulated keys' private material: put it on tmpfs or in a throwaway directory.
   */
  statePath?: string;
  softDeleteRetentionDays?: number;
  adminToken?: string;
  now?: () => number;
  log?: (event: Record<string, unknown>) => void;
}

export interface RunningVault {
  /** `https://<publicHost>:<port>`: the vault URL. */
  url: string;
  publicHost: string;
  resource: string;
  flavour: VaultFlavour;
  /** PEM of the CA clients must trust (TLS and the release JWS chain). */
  caPem: string;
  service: VaultService;
  stats: VaultStats;
  faults: FaultInjector;
  /** Live: changes apply to the next request. */
  roleAssignments: RoleAssignment[];
  /** Counts and key names/versions (no key material). */
  inspect(): VaultInspection;
  close(): Promise<void>;
}

export interface VaultInspection {
  calls: Record<string, Record<string, number>>;
  writes: Partial<Record<string, number>>;
  totalWrites: number;
  injected: { throttled: number; failed: number };
  keys: Record<string, { versions: string[]; deleted: boolean }>;
}

const RESOURCE: Record<VaultFlavour, string> = {
  keyvault: 'https://vault.localhost',
  managedhsm: 'https://managedhsm.localhost',
};
const DOMAIN: Record<VaultFlavour, string> = {
  keyvault: 'vault.localhost',
  managedhsm: 'managedhsm.localhost',
};

export async function startVault(options: StartVaultOptions): Promise<RunningVault> {
  const flavour = options.flavour ?? 'keyvault';
  const publicHost = options.publicHost ?? `${options.name ?? 'securekey-sim'}.${DOMAIN[flavour]}`;
  const resource = options.resource ?? RESOURCE[flavour];
  const resourceHost = new URL(resource).hostname;
  if (!publicHost.endsWith(`.${resourceHost}`)) {
    throw new Error(
      `vault host ${publicHost} does not end with .${resourceHost}: the Key Vault SDK would refuse the challenge for resource ${resource}`,
    );
  }
  const label = flavour === 'managedhsm' ? 'simulated Managed HSM' : 'simulated Key Vault';
  const server = await listenSimulator({
    ca: options.ca,
    publicHost,
    certificate: { commonName: `${publicHost} (${label})`, dns: [publicHost] },
    host: options.host,
    port: options.port,
  });
  const signing = options.ca.issue({
    commonName: publicHost,
    dns: [publicHost],
    usage: 'signing',
    keyType: 'rsa',
  });

  const now = options.now ?? Date.now;
  const entraIssuer = accessTokenIssuer(options.entra);
  const entraKeys = new IssuerKeys({
    ...(options.entra.caPem === undefined ? {} : { caPem: options.entra.caPem }),
    trusted: [
      { issuer: entraIssuer, ...(options.entra.jwks === undefined ? {} : { jwks: options.entra.jwks }) },
    ],
    discover: false,
    now,
  });
  const attestationKeys = new IssuerKeys({
    ...(options.attestation?.caPem === undefined ? {} : { caPem: options.attestation.caPem }),
    trusted: options.attestation?.trusted ?? [],
    requireKid: true,
    requireX5c: true,
    now,
  });
  const auth: BearerAuthOptions = {
    tenantId: options.entra.tenantId,
    authorityHost: options.entra.authorityHost,
    resource,
    keys: entraKeys,
    nowSeconds: () => Math.floor(now() / 1000),
  };
  let service: VaultService;
  try {
    service = new VaultService({
      flavour,
      baseUrl: server.url,
      store: options.statePath === undefined ? new MemoryStore() : new FileStore(options.statePath),
      signer: { key: signing.key, chainDer: signing.chainDer },
      attestationKeys,
      now,
      ...(options.softDeleteRetentionDays === undefined
        ? {}
        : { softDeleteRetentionDays: options.softDeleteRetentionDays }),
      ...(options.attestation?.skewSeconds === undefined
        ? {}
        : { attestationSkewSeconds: options.attestation.skewSeconds }),
    });
  } catch (err) {
    await server.close();
    throw err;
  }
  const stats = new VaultStats();
  const faults = new FaultInjector();
  const roleAssignments = [...(options.roleAssignments ?? [])];
  // The app needs the server's URL (key ids), so it is attached once the server listens.
  server.attach(
    vaultApp({
      service,
      auth,
      roleAssignments,
      faults,
      stats,
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      ...(options.log === undefined ? {} : { log: options.log }),
    }),
  );
  return {
    url: server.url,
    publicHost,
    resource,
    flavour,
    caPem: options.ca.certPem,
    service,
    stats,
    faults,
    roleAssignments,
    inspect: () => inspect(service, stats, faults),
    close: async () => {
      await server.close();
      entraKeys.close();
      attestationKeys.close();
    },
  };
}

function inspect(service: VaultService, stats: VaultStats, faults: FaultInjector): VaultInspection {
  const state: VaultState = service.snapshot();
  return {
    calls: stats.calls,
    writes: { ...service.writes },
    totalWrites: service.totalWrites,
    injected: { ...faults.injected },
    keys: Object.fromEntries(
      Object.values(state.keys).map((k) => [
        k.name,
        { versions: k.versions.map((v) => v.version), deleted: k.deleted !== undefined },
      ]),
    ),
  };
}
