import { describe, expect, it } from 'vitest';
import { POLICY_ANNOTATIONS } from '../digest/index.ts';
import { isErrorOf } from '../errors.ts';
import {
  AGENT_CONTAINER,
  agentSettings,
  applyPatch,
  diff,
  injectAgent,
  InjectError,
  keyRequests,
  KEYS_MOUNT_PATH,
  KEYS_VOLUME,
  STATUS_ANNOTATION,
  type AgentSettings,
  type ResolvedKey,
} from './index.ts';

const settings: AgentSettings = {
  image: 'ghcr.io/securekey/agent:0.1.0',
  args: (keys) => ['init', ...keys.map((k) => `--key=${k.alias}`)],
  env: [{ name: 'AZURE_CLIENT_ID', value: 'c' }],
};

function pod(
  annotations: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db', namespace: 'shop', labels: { 'securekey.io/inject': 'true' }, annotations },
    spec: {
      initContainers: [{ name: 'migrate', image: 'm' }],
      containers: [
        { name: 'app', image: 'a', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        { name: 'proxy', image: 'p' },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
      ...extra,
    },
  };
}

const key = (alias: string, over: Partial<ResolvedKey> = {}): ResolvedKey => ({
  alias,
  secureKey: `${alias}-key`,
  format: 'raw',
  file: alias,
  vaultUrl: 'https://h.managedhsm.azure.net',
  keyName: `${alias}-key`,
  authority: 'https://sharedeus.eus.attest.azure.net',
  ...over,
});

function refusedWith(kind: string, fn: () => unknown, text: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isErrorOf(err, InjectError, kind as never)).toBe(true);
    expect((err as Error).message).toMatch(text);
    return;
  }
  throw new Error('accepted');
}

describe('keyRequests', () => {
  it('reads aliases, formats and file names, sorted, with defaults', () => {
    expect(
      keyRequests({
        'securekey.io/key-tls': 'web-tls',
        'securekey.io/format-tls': 'pem',
        'securekey.io/path-tls': 'tls.key',
        'securekey.io/key-db': 'db-key',
        'other/x': 'y',
      }),
    ).toEqual([
      { alias: 'db', secureKey: 'db-key', format: 'raw', file: 'db' },
      { alias: 'tls', secureKey: 'web-tls', format: 'pem', file: 'tls.key' },
    ]);
  });

  it('refuses bad aliases, formats, paths and clashing files, naming the annotation', () => {
    refusedWith('bad-annotation', () => keyRequests({ 'securekey.io/key-Bad_Alias': 'k' }), /key-Bad_Alias/);
    refusedWith(
      'bad-annotation',
      () => keyRequests({ 'securekey.io/key-a': 'k', 'securekey.io/format-a': 'der' }),
      /format-a: "der"/,
    );
    refusedWith(
      'bad-annotation',
      () => keyRequests({ 'securekey.io/key-a': 'k', 'securekey.io/path-a': '../etc/passwd' }),
      /plain file name/,
    );
    refusedWith(
      'bad-annotation',
      () => keyRequests({ 'securekey.io/key-a': 'k', 'securekey.io/key-b': 'k', 'securekey.io/path-b': 'a' }),
      /both be written to a/,
    );
  });
});

describe('injectAgent', () => {
  it('adds the agent first, an in-memory keys volume mounted read-only, the identity token, and the status', () => {
    const before = pod({ 'securekey.io/key-db': 'db-key' });
    const r = injectAgent(before, [key('db')], settings);
    expect(r.changed).toBe(true);
    const spec = r.pod['spec'] as Record<string, Array<Record<string, unknown>>>;
    expect(spec['initContainers']!.map((c) => c['name'])).toEqual([AGENT_CONTAINER, 'migrate']);
    const agent = spec['initContainers']![0]!;
    expect(agent['args']).toEqual(['init', '--key=db']);
    expect(agent['env']).toContainEqual({ name: 'AZURE_CLIENT_ID', value: 'c' });
    expect(spec['volumes']).toContainEqual({
      name: KEYS_VOLUME,
      emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
    });
    for (const c of spec['containers']!) {
      expect(c['volumeMounts']).toContainEqual({
        name: KEYS_VOLUME,
        mountPath: KEYS_MOUNT_PATH,
        readOnly: true,
      });
    }
    expect(spec['containers']![0]!['volumeMounts']).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(
      (r.pod['metadata'] as { annotations: Record<string, string> }).annotations[STATUS_ANNOTATION],
    ).toBe('injected');
    // The input is untouched.
    expect(JSON.stringify(before)).not.toContain(AGENT_CONTAINER);
  });

  it('is idempotent: a second injection changes nothing', () => {
    const once = injectAgent(pod({ 'securekey.io/key-db': 'db-key' }), [key('db')], settings);
    const twice = injectAgent(once.pod, [key('db')], settings);
    expect(twice).toEqual({ changed: false, reason: 'already-injected', pod: once.pod });
  });

  it('mounts only into the containers the annotation names', () => {
    const r = injectAgent(
      pod({ 'securekey.io/key-db': 'db-key', 'securekey.io/containers': 'proxy' }),
      [key('db')],
      settings,
    );
    const containers = (r.pod['spec'] as { containers: Array<{ name: string; volumeMounts?: unknown[] }> })
      .containers;
    expect(containers.find((c) => c.name === 'app')!.volumeMounts).toHaveLength(1);
    expect(containers.find((c) => c.name === 'proxy')!.volumeMounts).toHaveLength(1);
    refusedWith(
      'bad-annotation',
      () => injectAgent(pod({ 'securekey.io/containers': 'nope' }), [key('db')], settings),
      /no container named nope/,
    );
  });

  it('denies a pod whose policy was generated before injection, saying what to do', () => {
    const p = pod({ 'securekey.io/key-db': 'db-key', [POLICY_ANNOTATIONS['kata-agent-policy']]: 'cG9saWN5' });
    refusedWith(
      'policy-before-injection',
      () => injectAgent(p, [key('db')], settings),
      /policy annotation but no SecureKey agent/,
    );
  });

  it('never overwrites what the user set', () => {
    refusedWith(
      'conflict',
      () => injectAgent(pod({}, { volumes: [{ name: KEYS_VOLUME, emptyDir: {} }] }), [key('db')], settings),
      /volume named securekey-keys/,
    );
    const clash = pod();
    (clash['spec'] as { containers: Array<Record<string, unknown>> }).containers[1]!['volumeMounts'] = [
      { name: 'x', mountPath: KEYS_MOUNT_PATH },
    ];
    refusedWith('conflict', () => injectAgent(clash, [key('db')], settings), /proxy already mounts/);
  });

  it('the SKR API: a sidecar pod may ask for it by port; it reaches the agent as --skr-api-port', () => {
    const sidecar = { 'securekey.io/key-db': 'db-key', 'securekey.io/agent-mode': 'sidecar' };
    const r = injectAgent(pod({ ...sidecar, 'securekey.io/skr-api': '8080' }), [key('db')], settings);
    const agent = (r.pod['spec'] as { initContainers: Array<Record<string, unknown>> }).initContainers[0]!;
    expect(agent['args']).toEqual(['sidecar', '--key=db', '--skr-api-port=8080']);
    // Loopback only: no container port is declared for it.
    expect(agent['ports']).toEqual([{ name: 'securekey', containerPort: 9797, protocol: 'TCP' }]);
    for (const bad of ['0', '65536', 'http', '08080', ' 8080']) {
      refusedWith(
        'bad-annotation',
        () => injectAgent(pod({ ...sidecar, 'securekey.io/skr-api': bad }), [key('db')], settings),
        /securekey.io\/skr-api: .* is not a port number/,
      );
    }
    refusedWith(
      'bad-annotation',
      () => injectAgent(pod({ ...sidecar, 'securekey.io/skr-api': '9797' }), [key('db')], settings),
      /9797 is the agent's probe port/,
    );
    refusedWith(
      'bad-annotation',
      () =>
        injectAgent(
          pod({ 'securekey.io/key-db': 'db-key', 'securekey.io/skr-api': '8080' }),
          [key('db')],
          settings,
        ),
      /securekey.io\/skr-api needs securekey.io\/agent-mode: sidecar, not init/,
    );
  });

  it('sidecar mode: a native sidecar (restartPolicy Always) with a startup probe, running the sidecar command', () => {
    const r = injectAgent(
      pod({ 'securekey.io/key-db': 'db-key', 'securekey.io/agent-mode': 'sidecar' }),
      [key('db')],
      settings,
    );
    const agent = (r.pod['spec'] as { initContainers: Array<Record<string, unknown>> }).initContainers[0]!;
    expect(agent['restartPolicy']).toBe('Always');
    expect(agent['args']).toEqual(['sidecar', '--key=db']);
    expect(agent['startupProbe']).toMatchObject({ httpGet: { path: '/ready', port: 9797 } });
    refusedWith(
      'bad-annotation',
      () => injectAgent(pod({ 'securekey.io/agent-mode': 'daemon' }), [key('db')], settings),
      /agent-mode: "daemon" is not one of init, sidecar, node/,
    );
  });

  it('node mode: fetch from the node agent with a node-audience token and its CA; no vault identity in the pod', () => {
    const nodeSettings = {
      ...settings,
      node: { url: 'https://securekey-node.securekey-system.svc:8443', caConfigMap: 'securekey-node-ca' },
    };
    // The SecureKey's mode decides: no annotation needed (and `node` agrees with it).
    const r = injectAgent(
      pod({ 'securekey.io/key-db': 'db-key' }),
      [key('db', { mode: 'Node' })],
      nodeSettings,
    );
    expect(
      injectAgent(
        pod({ 'securekey.io/key-db': 'db-key', 'securekey.io/agent-mode': 'node' }),
        [key('db', { mode: 'Node' })],
        nodeSettings,
      ).pod,
    ).toEqual({
      ...r.pod,
      metadata: {
        ...(r.pod['metadata'] as object),
        annotations: {
          ...((r.pod['metadata'] as { annotations: object }).annotations as object),
          'securekey.io/agent-mode': 'node',
        },
      },
    });
    const spec = r.pod['spec'] as {
      initContainers: Array<Record<string, unknown>>;
      volumes: Array<Record<string, unknown>>;
    };
    const agent = spec.initContainers[0]!;
    expect(agent['args']).toEqual(['node', '--key=db=db-key', '--format=db=raw', '--file=db=db']);
    expect(agent['env']).toContainEqual({
      name: 'SECUREKEY_NODE_AGENT_URL',
      value: 'https://securekey-node.securekey-system.svc:8443',
    });
    expect(JSON.stringify(agent['env'])).not.toContain('AZURE_');
    expect(spec.volumes.map((v) => v['name'])).toEqual([
      'data',
      'securekey-keys',
      'securekey-node-token',
      'securekey-node-ca',
    ]);
    expect(JSON.stringify(spec.volumes)).toContain('"audience":"securekey-node"');
    expect(spec.volumes.find((v) => v['name'] === 'securekey-node-ca')).toEqual({
      name: 'securekey-node-ca',
      configMap: { name: 'securekey-node-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    });
    refusedWith(
      'bad-annotation',
      () => injectAgent(pod({ 'securekey.io/key-db': 'db-key' }), [key('db', { mode: 'Node' })], settings),
      /SecureKey db-key serves node mode, but node mode needs the node agent/,
    );
  });

  it('refuses an agent mode its SecureKeys do not serve, and a pod mixing the two modes', () => {
    const nodeSettings = { ...settings, node: { url: 'https://n.invalid:8443', caConfigMap: 'ca' } };
    const asking = (mode: string) =>
      pod({ 'securekey.io/key-db': 'db-key', 'securekey.io/agent-mode': mode });
    refusedWith(
      'mode-mismatch',
      () => injectAgent(asking('sidecar'), [key('db', { mode: 'Node' })], nodeSettings),
      /agent-mode: sidecar, but SecureKey db-key serves node mode: its keys come from the node agent/,
    );
    refusedWith(
      'mode-mismatch',
      () => injectAgent(asking('node'), [key('db', { mode: 'Pod' })], nodeSettings),
      /agent-mode: node, but SecureKey db-key serves pod mode: the node agent does not release its key/,
    );
    refusedWith(
      'mode-mismatch',
      () =>
        injectAgent(
          pod({ 'securekey.io/key-db': 'db-key', 'securekey.io/key-log': 'log-key' }),
          [key('db', { mode: 'Node' }), key('log', { secureKey: 'log-key' })],
          nodeSettings,
        ),
      /node-mode SecureKeys \(db-key\) and of pod-mode SecureKeys \(log-key\): one agent serves one mode/,
    );
  });

  it('leaves pods that ask for no keys alone', () => {
    expect(injectAgent(pod(), [], settings)).toMatchObject({ changed: false, reason: 'no-keys' });
  });
});

describe('key files the app can read (ADR 21)', () => {
  type Sc = Record<string, number>;
  /** The agent's file mode and runAsGroup for a pod with these security contexts (app, proxy: targets). */
  function access(podSc: Sc, app: Sc = {}, proxy: Sc = {}): { mode: string; runAsGroup?: number } {
    const p = pod({}, { securityContext: podSc });
    const [a, b] = (p['spec'] as { containers: Record<string, unknown>[] }).containers;
    a!['securityContext'] = app;
    b!['securityContext'] = proxy;
    const out = injectAgent(p, [key('db')], settings);
    if (!out.changed) throw new Error('not injected');
    const agent = (out.pod['spec'] as { initContainers: Record<string, unknown>[] }).initContainers[0]!;
    const args = agent['args'] as string[];
    const mode = args.find((x) => x.startsWith('--file-mode='))?.slice('--file-mode='.length) ?? '0400';
    expect(args.filter((x) => x.startsWith('--file-mode='))).toHaveLength(mode === '0400' ? 0 : 1);
    const { runAsGroup } = agent['securityContext'] as { runAsGroup?: number };
    return runAsGroup === undefined ? { mode } : { mode, runAsGroup };
  }

  it('0400 when every app runs as the agent’s uid: the image’s, or the pod’s that the agent inherits', () => {
    expect(access({}, { runAsUser: 65532 }, { runAsUser: 65532 })).toEqual({ mode: '0400' });
    expect(access({ runAsUser: 1000 })).toEqual({ mode: '0400' });
    expect(access({ runAsUser: 1000, fsGroup: 2000 })).toEqual({ mode: '0400' });
  });

  it('0440 through the pod’s fsGroup, the agent’s group, when an app runs as another uid', () => {
    expect(access({ fsGroup: 2000 }, { runAsUser: 1000 })).toEqual({ mode: '0440', runAsGroup: 2000 });
    expect(access({ runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000 }, { runAsUser: 1001 })).toEqual({
      mode: '0440',
      runAsGroup: 2000,
    });
  });

  it('without an fsGroup, 0440 with the agent in the apps’ one stated primary group', () => {
    expect(access({}, { runAsUser: 1000, runAsGroup: 1000 }, { runAsUser: 1001, runAsGroup: 1000 })).toEqual({
      mode: '0440',
      runAsGroup: 1000,
    });
    expect(access({ runAsGroup: 3000 }, { runAsUser: 1000 }, { runAsUser: 1001 })).toEqual({
      mode: '0440',
      runAsGroup: 3000,
    });
  });

  it('refuses an app on another uid that shares no group with the files, naming it and what to set', () => {
    refusedWith('unreadable-keys', () => access({}, { runAsUser: 1000 }), /app runs as uid 1000/);
    refusedWith(
      'unreadable-keys',
      () => access({}, { runAsUser: 1000, runAsGroup: 1000 }, { runAsGroup: 2000 }),
      /app runs as uid 1000, the agent as 65532/,
    );
  });

  it('0400 as before when no uid is stated (the image decides) or the app is root', () => {
    expect(access({})).toEqual({ mode: '0400' });
    expect(access({}, { runAsUser: 0 })).toEqual({ mode: '0400' });
  });
});

describe('diff and applyPatch', () => {
  it('turns the injection into a patch that reproduces it exactly', () => {
    const before = pod({ 'securekey.io/key-db': 'db-key', 'a/b~c': 'escaped' });
    const after = injectAgent(before, [key('db')], settings).pod;
    const ops = diff(before, after);
    expect(applyPatch(before, ops)).toEqual(after);
    expect(ops.every((o) => o.path.startsWith('/'))).toBe(true);
    expect(diff(after, after)).toEqual([]);
  });

  it('handles removals, type changes and escaped keys on random documents', () => {
    const rand = (seed: number): unknown => {
      let s = seed;
      const r = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const gen = (depth: number): unknown => {
        const t = r();
        if (depth > 3 || t < 0.3) return r() < 0.5 ? Math.floor(r() * 10) : `s${Math.floor(r() * 5)}`;
        if (t < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => gen(depth + 1));
        return Object.fromEntries(
          Array.from({ length: Math.floor(r() * 4) }, (_, i) => [
            `k${i}${r() < 0.2 ? '/~' : ''}`,
            gen(depth + 1),
          ]),
        );
      };
      return { root: gen(0) };
    };
    for (let i = 0; i < 200; i++) {
      const a = rand(i);
      const b = rand(i + 1000);
      expect(applyPatch(a, diff(a, b))).toEqual(b);
    }
  });
});

describe('simulators (mock PSP) settings', () => {
  const caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const simulated = agentSettings({
    image: 'agent',
    evidence: 'tsm',
    simulators: { pspUrl: 'https://sims.ns.svc:8446', pspAudience: 'securekey-psp', caPem },
  });

  it('gives the agent a PSP token of its own audience, the PSP URL and the CA in its measured environment', () => {
    const out = injectAgent(pod({ 'securekey.io/key-db': 'db-key' }), [key('db')], simulated);
    if (!out.changed) throw new Error('expected a mutation');
    const spec = out.pod['spec'] as { initContainers: Array<Record<string, unknown>>; volumes: unknown[] };
    const agent = spec.initContainers[0]!;
    const env = Object.fromEntries(
      (agent['env'] as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      SECUREKEY_EVIDENCE: 'psp',
      SECUREKEY_PSP_URL: 'https://sims.ns.svc:8446',
      SECUREKEY_PSP_TOKEN_FILE: '/var/run/secrets/securekey/psp/token',
      SECUREKEY_SIMULATORS: 'true',
      SECUREKEY_CA_PEM: caPem,
      SECUREKEY_RELEASE_TRUST_ROOTS_PEM: caPem,
    });
    // One evidence backend, not the configured tsm as well.
    expect(
      (agent['env'] as Array<{ name: string }>).filter((e) => e.name === 'SECUREKEY_EVIDENCE'),
    ).toHaveLength(1);
    expect(spec.volumes).toContainEqual({
      name: 'securekey-psp-token',
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', audience: 'securekey-psp', expirationSeconds: 600 } },
        ],
      },
    });
    expect(agent['volumeMounts']).toContainEqual({
      name: 'securekey-psp-token',
      mountPath: '/var/run/secrets/securekey/psp',
      readOnly: true,
    });
  });

  it('adds none of it without simulators', () => {
    const out = injectAgent(
      pod({ 'securekey.io/key-db': 'db-key' }),
      [key('db')],
      agentSettings({ image: 'agent', evidence: 'tsm' }),
    );
    expect(JSON.stringify(out.pod)).not.toMatch(/PSP|psp|SIMULATORS|CA_PEM/);
  });
});
