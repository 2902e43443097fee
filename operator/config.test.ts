import { describe, expect, it } from 'vitest';
import { isErrorOf } from '../core/errors.ts';
import { ConfigError, parseConfig } from './config.ts';
import { CONFIDENTIAL_RUNTIME_CLASSES } from '../core/workload/pod-admission.ts';
import { AZURE_ATTESTATION_SUFFIXES, SIMULATED_ATTESTATION_SUFFIXES } from './reconcile/authorities.ts';
import { AZURE_VAULT_SUFFIXES, SIMULATED_VAULT_SUFFIXES } from './vault/vaults.ts';

const WI = {
  AZURE_TENANT_ID: 't',
  AZURE_CLIENT_ID: 'c',
  AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
  AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
};

function refused(env: Record<string, string>, kind: string, text: RegExp): void {
  try {
    parseConfig(env);
  } catch (err) {
    expect(isErrorOf(err, ConfigError, kind as never)).toBe(true);
    expect((err as Error).message).toMatch(text);
    return;
  }
  throw new Error('accepted');
}

describe('parseConfig', () => {
  it('with nothing configured runs the embedded sandbox and allows only simulated vaults', () => {
    const c = parseConfig({});
    expect(c.identity).toEqual({ type: 'sandbox', vaultPort: 8443, maaPort: 8444 });
    expect(c.allowedVaultSuffixes).toEqual(SIMULATED_VAULT_SUFFIXES);
    expect(c.metrics).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.leaderElection).toMatchObject({
      enabled: true,
      name: 'securekey-operator',
      leaseDurationMs: 15_000,
    });
    expect([c.concurrency, c.resyncMs, c.relistIntervalMs]).toEqual([16, 600_000, 600_000]);
  });

  it('uses workload identity explicitly from the AKS webhook variables and allows only Azure vaults', () => {
    const c = parseConfig({ ...WI, POD_NAMESPACE: 'securekey-system', POD_NAME: 'op-1' });
    expect(c.identity).toEqual({
      type: 'workload-identity',
      tenantId: 't',
      clientId: 'c',
      tokenFile: WI.AZURE_FEDERATED_TOKEN_FILE,
      authorityHost: WI.AZURE_AUTHORITY_HOST,
    });
    expect(c.allowedVaultSuffixes).toEqual(AZURE_VAULT_SUFFIXES);
    expect(c.leaderElection).toMatchObject({ namespace: 'securekey-system', identity: 'op-1' });
  });

  it('reads the tunables', () => {
    const c = parseConfig({
      ...WI,
      SECUREKEY_ALLOWED_VAULT_SUFFIXES: 'vault.example.com, .hsm.example.com',
      SECUREKEY_METRICS_ADDR: '127.0.0.1:9090',
      SECUREKEY_CONCURRENCY: '8',
      SECUREKEY_RESYNC: '5m',
      SECUREKEY_LEADER_ELECTION: 'false',
      SECUREKEY_NAMESPACE: 'shop',
      SECUREKEY_CA_FILE: '/ca.pem',
    });
    expect(c.allowedVaultSuffixes).toEqual(['.vault.example.com', '.hsm.example.com']);
    expect(c.metrics).toEqual({ host: '127.0.0.1', port: 9090 });
    expect([c.concurrency, c.resyncMs, c.leaderElection.enabled, c.namespace, c.caFile]).toEqual([
      8,
      300_000,
      false,
      'shop',
      '/ca.pem',
    ]);
  });

  it('refuses half or conflicting identities and bad values, naming the variable', () => {
    refused(
      { AZURE_CLIENT_ID: 'c', AZURE_FEDERATED_TOKEN_FILE: '/t' },
      'missing',
      /AZURE_TENANT_ID is not set/,
    );
    refused({ AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c' }, 'missing', /AZURE_FEDERATED_TOKEN_FILE/);
    refused({ ...WI, AZURE_CLIENT_SECRET: 's' }, 'conflict', /choose one/);
    refused({ ...WI, SECUREKEY_SANDBOX: 'true' }, 'conflict', /SECUREKEY_SANDBOX=true/);
    refused({ SECUREKEY_CONCURRENCY: '0' }, 'bad-value', /SECUREKEY_CONCURRENCY="0"/);
    refused({ SECUREKEY_RESYNC: 'soon' }, 'bad-value', /SECUREKEY_RESYNC="soon"/);
    refused({ SECUREKEY_LEADER_ELECTION: 'yes' }, 'bad-value', /expected true or false/);
    refused({ SECUREKEY_METRICS_ADDR: '8080' }, 'bad-value', /host:port/);
  });

  it('points agents at the mock PSP only when simulators are acknowledged, with their CA', () => {
    const webhook = { ...WI, SECUREKEY_WEBHOOK: 'true', SECUREKEY_AGENT_IMAGE: 'agent:1' };
    const psp = { SECUREKEY_AGENT_PSP_URL: 'https://sims.ns.svc:8446' };
    refused({ ...webhook, ...psp }, 'conflict', /SECUREKEY_AGENT_PSP_URL .*SECUREKEY_SIMULATORS=true/);
    refused({ ...webhook, ...psp, SECUREKEY_SIMULATORS: 'true' }, 'missing', /SECUREKEY_AGENT_CA_FILE/);
    const c = parseConfig({
      ...webhook,
      ...psp,
      SECUREKEY_SIMULATORS: 'true',
      SECUREKEY_AGENT_CA_FILE: '/etc/securekey/simulators/ca.crt',
    });
    expect(c.webhook?.agent.simulators).toEqual({
      pspUrl: 'https://sims.ns.svc:8446',
      pspAudience: 'securekey-psp',
      caFile: '/etc/securekey/simulators/ca.crt',
    });
    expect(parseConfig(webhook).webhook?.agent.simulators).toBeUndefined();
  });

  it('lets SecureKeys name only Azure Attestation, or only the simulators in sandbox mode, unless told', () => {
    expect(parseConfig(WI).allowedAuthorities).toEqual(AZURE_ATTESTATION_SUFFIXES);
    expect(parseConfig({}).allowedAuthorities).toEqual(SIMULATED_ATTESTATION_SUFFIXES);
    expect(
      parseConfig({
        ...WI,
        SECUREKEY_ALLOWED_AUTHORITY_SUFFIXES: ' Sims.NS.svc.cluster.local , .attest.example ',
      }).allowedAuthorities,
    ).toEqual(['sims.ns.svc.cluster.local', '.attest.example']);
  });

  it('counts pods of the confidential runtime classes only, in every mode, unless told', () => {
    for (const env of [WI, {}]) {
      expect(parseConfig(env).podAdmission).toEqual({
        runtimeClasses: CONFIDENTIAL_RUNTIME_CLASSES,
        noRuntimeClass: false,
      });
    }
    expect(
      parseConfig({
        ...WI,
        SECUREKEY_ALLOWED_RUNTIME_CLASSES: ' my-cc , ,kata-cc ',
        SECUREKEY_ALLOW_NO_RUNTIME_CLASS: 'true',
      }).podAdmission,
    ).toEqual({ runtimeClasses: ['my-cc', 'kata-cc'], noRuntimeClass: true });
    expect(() => parseConfig({ ...WI, SECUREKEY_ALLOW_NO_RUNTIME_CLASS: 'yes' })).toThrow(
      /SECUREKEY_ALLOW_NO_RUNTIME_CLASS/,
    );
  });
});

describe('parseConfig: cluster identity', () => {
  it('reads the cluster identity for key owner tags when set, and leaves it to kube-system otherwise', () => {
    expect(parseConfig({}).clusterId).toBeUndefined();
    expect(parseConfig({ SECUREKEY_CLUSTER_ID: 'prod-westeurope-1' }).clusterId).toBe('prod-westeurope-1');
    refused({ SECUREKEY_CLUSTER_ID: 'two words' }, 'bad-value', /SECUREKEY_CLUSTER_ID="two words"/);
  });
});
