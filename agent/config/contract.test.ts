/**
 * The injector ↔ agent contract, end to end: the container core/inject builds is parsed by the agent's
 * own parsers (that every option of the contract reaches the configuration is in agent/config.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  agentSettings,
  injectAgent,
  KEYS_MOUNT_PATH,
  type AgentSettingsInput,
  type ResolvedKey,
} from '../../core/inject/index.ts';
import { parseAgentConfig } from '../config.ts';
import { parseNodeConfig } from '../node/node-config.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----';

const KEYS: ResolvedKey[] = [
  {
    alias: 'db',
    secureKey: 'db-key',
    format: 'pem',
    file: 'db.pem',
    vaultUrl: 'https://contoso.managedhsm.azure.net/',
    keyName: 'db',
    authority: 'https://sharedeus.eus.attest.azure.net',
  },
  {
    alias: 'tls',
    secureKey: 'web-tls',
    format: 'jwk',
    file: 'tls',
    vaultUrl: 'https://kv1.vault.azure.net',
    keyName: 'web-tls',
    authority: 'https://sharedweu.weu.attest.azure.net',
    rotation: '720h',
  },
];

interface Container {
  args: string[];
  securityContext: { runAsGroup?: number };
  env: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
  startupProbe?: { httpGet: { port: number } };
}

/** The agent container the injector adds for `mode`, and its environment as the kubelet gives it. */
function injected(
  mode: string,
  input: Partial<AgentSettingsInput> = {},
  app: Record<string, unknown> = {},
): { agent: Container; env: Record<string, string> } {
  const pod = {
    metadata: { name: 'web', annotations: { 'securekey.io/agent-mode': mode } },
    spec: { containers: [{ name: 'app', image: 'app', ...app }] },
  };
  const settings = agentSettings({ image: 'agent', ...input });
  // Node mode is served only for node-mode SecureKeys.
  const keys = mode === 'node' ? KEYS.map((k) => ({ ...k, mode: 'Node' as const })) : KEYS;
  const result = injectAgent(pod, keys, settings);
  expect(result.changed).toBe(true);
  const spec = result.pod['spec'] as { initContainers: Container[] };
  const agent = spec.initContainers[0]!;
  return { agent, env: Object.fromEntries(agent.env.map((e) => [e.name, e.value])) };
}

const IDENTITY = {
  tenantId: 'tenant-1',
  clientId: 'client-1',
  authorityHost: 'https://login.microsoftonline.com',
};

describe('what the injector writes, the agent reads', () => {
  it('init: every key with its vault, name, format, file and authority; identity; the admission wait', () => {
    const { agent, env } = injected('init', { ...IDENTITY, evidence: 'sev-guest' });
    const c = parseAgentConfig(agent.args, env);
    expect(c.mode).toBe('init');
    expect(c.keys).toEqual(
      KEYS.map((k) => ({
        alias: k.alias,
        vaultUrl: k.vaultUrl.replace(/\/$/, ''),
        name: k.keyName,
        attestationUrl: k.authority,
        format: k.format,
        path: `${KEYS_MOUNT_PATH}/${k.file}`,
      })),
    );
    const keysMount = agent.volumeMounts.find((m) => m.name === 'securekey-keys');
    expect(c.outputDir).toBe(keysMount?.mountPath);
    expect(c.identity).toEqual({
      kind: 'workload',
      tenantId: 'tenant-1',
      clientId: 'client-1',
      authorityHost: 'https://login.microsoftonline.com',
      tokenFile: '/var/run/secrets/securekey/azure/token',
    });
    expect(c.evidence).toBe('sev-guest');
    expect(c.admissionWaitMs).toBe(30_000);
  });

  it('sidecar: the agent answers its startup probe on the port the injector probes', () => {
    const { agent, env } = injected('sidecar', IDENTITY);
    const c = parseAgentConfig(agent.args, env);
    expect(c.mode).toBe('sidecar');
    expect(c.probePort).toBe(agent.startupProbe?.httpGet.port);
    // A rotating SecureKey's interval, so the sidecar releases again when the next version is due.
    expect(c.keys.map((k) => [k.alias, k.rotationMs])).toEqual([
      ['db', undefined],
      ['tls', 720 * 3_600_000],
    ]);
  });

  it('simulators: the mock PSP, its token file and the CA as both trust roots', () => {
    const { agent, env } = injected('init', {
      ...IDENTITY,
      simulators: { pspUrl: 'https://sims.ns.svc:8446', pspAudience: 'securekey-psp', caPem: PEM },
    });
    const c = parseAgentConfig(agent.args, env);
    const pspMount = agent.volumeMounts.find((m) => m.name === 'securekey-psp-token');
    expect(c).toMatchObject({
      simulators: true,
      evidence: 'psp',
      pspUrl: 'https://sims.ns.svc:8446',
      pspTokenFile: `${pspMount?.mountPath}/token`,
      caPem: PEM + '\n',
      releaseTrustRootsPem: PEM + '\n',
    });
  });

  it('an app that reads through the files’ group: 0440 in every mode, the agent in the app’s group', () => {
    const app = { securityContext: { runAsUser: 1000, runAsGroup: 1000 } };
    for (const mode of ['init', 'sidecar']) {
      const { agent, env } = injected(mode, IDENTITY, app);
      expect(parseAgentConfig(agent.args, env).fileMode).toBe('0440');
      expect(agent.securityContext.runAsGroup).toBe(1000);
    }
    const node = { nodeAgentUrl: 'https://node.example:8443', nodeAgentCaConfigMap: 'ca' };
    const { agent, env } = injected('node', node, app);
    expect(parseNodeConfig(agent.args, env).fileMode).toBe('0440');
    const plain = injected('init', IDENTITY);
    expect(parseAgentConfig(plain.agent.args, plain.env).fileMode).toBe('0400');
  });

  it('node: the node agent, its CA, the pod token and the keys by SecureKey name', () => {
    const { agent, env } = injected('node', {
      nodeAgentUrl: 'https://securekey-node.securekey-system.svc:8443',
      nodeAgentCaConfigMap: 'securekey-node-ca',
    });
    const c = parseNodeConfig(agent.args, env);
    const mountOf = (name: string) => agent.volumeMounts.find((m) => m.name === name)?.mountPath;
    expect(c).toMatchObject({
      url: 'https://securekey-node.securekey-system.svc:8443',
      caFile: `${mountOf('securekey-node-ca')}/ca.crt`,
      tokenFile: `${mountOf('securekey-node-token')}/token`,
      outputDir: mountOf('securekey-keys'),
      keys: KEYS.map((k) => ({
        alias: k.alias,
        secureKey: k.secureKey,
        format: k.format,
        path: `${KEYS_MOUNT_PATH}/${k.file}`,
      })),
    });
  });
});
