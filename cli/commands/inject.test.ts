import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli as run, scratch } from '../../test/support/cli.ts';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../scripts/cluster/paths.ts';
import { testdata } from '../../test/support/paths.ts';
import { ManifestError } from '../manifests.ts';
import { injectCommand } from './inject.ts';

const { file } = scratch('sk-inject-');

const SECUREKEY = `apiVersion: securekey.io/v1alpha1
kind: SecureKey
metadata: {name: db-key, namespace: shop}
spec:
  vault: {url: https://contoso.managedhsm.azure.net}
  key: {name: db, type: oct-HSM, size: 256}
  attestation: {authorities: [https://sharedeus.eus.attest.azure.net]}
  workloads: {}
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: db}
      annotations: {securekey.io/key-db: db-key, securekey.io/format-db: pem}
    spec:
      containers: [{name: app, image: app:1}]
`;

const IMAGE = ['--agent-image', 'ghcr.io/securekey/agent:0.1.0', '--client-id', 'cid', '--tenant-id', 'tid'];

describe('securekey inject', () => {
  it('injects the agent into pod templates that ask for keys, with the webhook’s mutation', async () => {
    const r = await run(
      'inject',
      '-f',
      file('sk.yaml', SECUREKEY),
      '-f',
      file('deploy.yaml', DEPLOYMENT),
      ...IMAGE,
    );
    expect(r.code).toBe(0);
    interface Template {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: { initContainers: Array<{ name: string; args: string[]; env: unknown[] }> };
    }
    const docs = parseAllDocuments(r.out).map(
      (d) => d.toJS() as { kind: string; spec: { template: Template } },
    );
    expect(docs.map((d) => d.kind)).toEqual(['SecureKey', 'Deployment']);
    const template = docs[1]!.spec.template;
    expect(template.metadata.labels).toEqual({ app: 'db', 'securekey.io/inject': 'true' });
    expect(template.metadata.annotations['securekey.io/status']).toBe('injected');
    const agent = template.spec.initContainers[0]!;
    expect(agent.name).toBe('securekey-agent');
    expect(agent.args).toEqual([
      'init',
      '--admission-wait=30s',
      '--key=db=https://contoso.managedhsm.azure.net/keys/db',
      '--format=db=pem',
      '--file=db=db',
      '--authority=db=https://sharedeus.eus.attest.azure.net',
    ]);
    expect(agent.env).toContainEqual({ name: 'AZURE_CLIENT_ID', value: 'cid' });
    expect(r.err).toContain('added label securekey.io/inject=true');
    expect(r.err).toContain('injected the agent into 1 pod template(s)');

    // Running it on its own output changes nothing.
    const again = await run('inject', '-f', file('out.yaml', r.out), ...IMAGE);
    expect(again.code).toBe(0);
    expect(again.out).toBe(r.out);
    expect(again.err).toContain('injected the agent into 0 pod template(s)');
  });

  it('refuses a SecureKey that is not among the manifests and a policy generated too early', async () => {
    const missing = await run('inject', '-f', file('only-deploy.yaml', DEPLOYMENT), ...IMAGE);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(
      'Deployment/db: key db names SecureKey db-key, which is not among the manifests',
    );
    const early = DEPLOYMENT.replace(
      'securekey.io/format-db: pem}',
      'securekey.io/format-db: pem, io.katacontainers.config.agent.policy: cGFja2FnZQ==}',
    );
    const r = await run(
      'inject',
      '-f',
      file('sk2.yaml', SECUREKEY),
      '-f',
      file('early.yaml', early),
      ...IMAGE,
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain('policy annotation but no SecureKey agent');
  });

  it('node mode: the SecureKey’s mode picks the node client, pointed at the node agent given', async () => {
    const nodeKey = SECUREKEY.replace('spec:\n', 'spec:\n  mode: Node\n');
    const node = ['--node-agent-url', 'https://securekey-node.securekey-system.svc:8443'];
    const ca = ['--node-agent-ca-configmap', 'securekey-node-ca'];
    const r = await run(
      'inject',
      '-f',
      file('nk.yaml', nodeKey),
      '-f',
      file('d.yaml', DEPLOYMENT),
      ...IMAGE,
      ...node,
      ...ca,
    );
    expect(r.code, r.err).toBe(0);
    const template = parseAllDocuments(r.out)
      .map((d) => d.toJS() as { kind: string; spec: { template: { spec: Record<string, unknown> } } })
      .find((d) => d.kind === 'Deployment')!.spec.template.spec;
    const agent = (
      template['initContainers'] as Array<{ args: string[]; env: Array<{ name: string; value: string }> }>
    )[0]!;
    expect(agent.args).toEqual(['node', '--key=db=db-key', '--format=db=pem', '--file=db=db']);
    expect(agent.env).toContainEqual({
      name: 'SECUREKEY_NODE_AGENT_URL',
      value: 'https://securekey-node.securekey-system.svc:8443',
    });
    expect(JSON.stringify(agent.env)).not.toContain('AZURE_CLIENT_ID');
    const volumes = JSON.stringify(template['volumes']);
    expect(volumes).toContain('"audience":"securekey-node"');
    expect(volumes).toContain('"configMap":{"name":"securekey-node-ca"');

    // Without the node agent's address, or asking a pod-mode SecureKey for node mode: refused by name.
    const unset = await run(
      'inject',
      '-f',
      file('nk.yaml', nodeKey),
      '-f',
      file('d.yaml', DEPLOYMENT),
      ...IMAGE,
    );
    expect(unset.code).toBe(1);
    expect(unset.err).toContain('SecureKey db-key serves node mode, but node mode needs the node agent');
    expect(unset.err).toContain('--node-agent-url and --node-agent-ca-configmap');
    const asked = DEPLOYMENT.replace('securekey.io/format-db: pem', 'securekey.io/agent-mode: node');
    const mismatch = await run(
      'inject',
      '-f',
      file('sk.yaml', SECUREKEY),
      '-f',
      file('a.yaml', asked),
      ...IMAGE,
      ...node,
      ...ca,
    );
    expect(mismatch.code).toBe(1);
    expect(mismatch.err).toContain(
      'SecureKey db-key serves pod mode: the node agent does not release its key',
    );
    const half = await run('inject', '-f', file('d.yaml', DEPLOYMENT), ...IMAGE, ...node);
    expect(half.code).toBe(2);
    expect(half.err).toContain('--node-agent-url and --node-agent-ca-configmap go together');
    const typo = await run(
      'inject',
      '-f',
      file('t.yaml', SECUREKEY.replace('spec:\n', 'spec:\n  mode: node\n')),
      '-f',
      file('d.yaml', DEPLOYMENT),
      ...IMAGE,
    );
    expect(typo.code).toBe(1);
    expect(typo.err).toContain('spec.mode is "node", not one of Pod, Node');
  });

  it('--agent-env adds variables to the agent (a virtual node’s THIM endpoint), refusing a malformed one', async () => {
    const thim = '===VIRTUALNODE2.CC.THIM.ENDPOINT===';
    const r = await run(
      'inject',
      '-f',
      file('sk-env.yaml', SECUREKEY),
      '-f',
      file('deploy-env.yaml', DEPLOYMENT),
      '--agent-image',
      'agent:1',
      '--evidence',
      'sev',
      '--agent-env',
      `SECUREKEY_THIM_URL=${thim}`,
      '--agent-env',
      'SECUREKEY_VCEK_SOURCE=thim',
    );
    expect(r.code).toBe(0);
    const deployment = parseAllDocuments(r.out)[1]!.toJS() as {
      spec: {
        template: { spec: { initContainers: Array<{ env: Array<{ name: string; value: string }> }> } };
      };
    };
    const env = deployment.spec.template.spec.initContainers[0]!.env;
    expect(env).toContainEqual({ name: 'SECUREKEY_THIM_URL', value: thim });
    expect(env).toContainEqual({ name: 'SECUREKEY_VCEK_SOURCE', value: 'thim' });
    expect(env).toContainEqual({ name: 'SECUREKEY_EVIDENCE', value: 'sev' });
    const bad = await run(
      'inject',
      '-f',
      file('d-env.yaml', DEPLOYMENT),
      '--agent-image',
      'a:1',
      '--agent-env',
      'NO_VALUE',
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--agent-env: "NO_VALUE" is not NAME=VALUE');
  });

  it('examples/vn2 as its README injects it: a managed identity, Confidential ACI’s device, VN2’s THIM', async () => {
    const r = await run(
      'inject',
      '-f',
      `${repoRoot}/examples/vn2/`,
      '--agent-image',
      'agent:1',
      '--evidence',
      'sev',
      '--agent-env',
      'SECUREKEY_IDENTITY=managed',
      '--agent-env',
      'SECUREKEY_THIM_URL====VIRTUALNODE2.CC.THIM.ENDPOINT===',
    );
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    const sk = docs.find((d) => d['kind'] === 'SecureKey');
    const deployment = docs.find((d) => d['kind'] === 'Deployment');
    expect(sk!['spec'].workloads.policyScheme).toBe('aci-cce');
    const pod = deployment!['spec'].template;
    expect(pod.spec.nodeSelector).toEqual({ virtualization: 'virtualnode2' });
    expect(pod.spec.runtimeClassName).toBeUndefined();
    expect(pod.metadata.annotations['microsoft.containerinstance.virtualnode.identity']).toMatch(
      /^\/subscriptions\/.+\/userAssignedIdentities\/.+$/,
    );
    const env = pod.spec.initContainers[0].env as Array<{ name: string; value: string }>;
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'SECUREKEY_EVIDENCE', value: 'sev' },
        { name: 'SECUREKEY_IDENTITY', value: 'managed' },
        { name: 'SECUREKEY_THIM_URL', value: '===VIRTUALNODE2.CC.THIM.ENDPOINT===' },
      ]),
    );
  });

  it('needs the agent image', async () => {
    const r = await run('inject', '-f', file('d.yaml', DEPLOYMENT));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--agent-image');
  });

  it('SIMULATORS: --psp-url with --simulators-ca give the agent the mock PSP and the CA, as the webhook does', async () => {
    // A real certificate (the simulators' CA is only trusted, never parsed for anything but well-formedness).
    const certs = JSON.parse(readFileSync(testdata('snp-real', 'thim-certs.json'), 'utf8'));
    const ca = file('ca.crt', (certs as { vcekCert: string }).vcekCert);
    const sims = ['--psp-url', 'https://sims.securekey-system.svc.cluster.local:8446', '--simulators-ca', ca];
    const r = await run(
      'inject',
      '-f',
      file('sk.yaml', SECUREKEY),
      '-f',
      file('d.yaml', DEPLOYMENT),
      ...IMAGE,
      ...sims,
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain('injected the agent into 1 pod template(s)');
    const deployment = parseAllDocuments(r.out)
      .map((d) => d.toJS() as { kind: string; spec: { template: { spec: Record<string, unknown> } } })
      .find((d) => d.kind === 'Deployment')!;
    const agent = (
      deployment.spec.template.spec['initContainers'] as Array<{
        env: Array<{ name: string; value: string }>;
      }>
    )[0]!;
    const env = Object.fromEntries(agent.env.map((e) => [e.name, e.value]));
    expect(env['SECUREKEY_PSP_URL']).toBe('https://sims.securekey-system.svc.cluster.local:8446');
    expect(env['SECUREKEY_CA_PEM']).toContain('BEGIN CERTIFICATE');
    expect(env['SECUREKEY_EVIDENCE']).toBe('psp');

    const half = await run('inject', '-f', file('d.yaml', DEPLOYMENT), ...IMAGE, '--psp-url', 'https://x');
    expect(half.code).toBe(2);
    expect(half.err).toContain('--psp-url and --simulators-ca go together');
    const notPem = await run(
      'inject',
      '-f',
      file('d.yaml', DEPLOYMENT),
      ...IMAGE,
      '--psp-url',
      'https://x',
      '--simulators-ca',
      file('bad', 'x'),
    );
    expect(notPem.err).toContain('holds no PEM certificate');
  });
});

describe('securekey inject on malformed manifests (counterexamples found by fuzzing)', () => {
  const quiet = { out: () => {}, err: () => {} };
  function injectError(name: string, text: string): ManifestError {
    let thrown: unknown;
    try {
      injectCommand(['-f', file(name, text), ...IMAGE], quiet);
    } catch (err) {
      thrown = err;
    }
    expect(thrown, String(thrown)).toBeInstanceOf(ManifestError);
    return thrown as ManifestError;
  }

  it.each([
    [
      'a SecureKey without spec.vault',
      `${SECUREKEY.replace(/ {2}vault: .*\n/, '')}---\n${DEPLOYMENT}`,
      'bad-manifest',
      'spec.vault.url is missing',
    ],
    [
      'a SecureKey whose key is not a map',
      `${SECUREKEY.replace(/ {2}key: .*\n/, '  key: db\n')}---\n${DEPLOYMENT}`,
      'bad-manifest',
      'spec.key.name is missing',
    ],
    [
      'a SecureKey that names no attestation authority',
      `${SECUREKEY.replace(/authorities: \[[^\]]*\]/, 'authorities: []')}---\n${DEPLOYMENT}`,
      'bad-manifest',
      'spec.attestation.authorities.0 is missing',
    ],
    [
      'a null annotation',
      `${SECUREKEY}---\n${DEPLOYMENT.replace('securekey.io/format-db: pem', 'securekey.io/format-db: null')}`,
      'bad-manifest',
      'metadata.annotations["securekey.io/format-db"] is null, not a string',
    ],
    [
      'a null container',
      `${SECUREKEY}---\n${DEPLOYMENT.replace('containers: [{name: app, image: app:1}]', 'containers: [null]')}`,
      'bad-manifest',
      'spec.containers[0] is null, not an object',
    ],
    ['an alias without its anchor', `${SECUREKEY}---\nmetadata: *nowhere\n`, 'bad-file', 'nowhere'],
    [
      'a SecureKey that is not among the manifests',
      `${SECUREKEY}---\n${DEPLOYMENT.replace('db-key', 'other-key')}`,
      'unknown-securekey',
      'names SecureKey other-key',
    ],
  ])('refuses %s with a ManifestError', (_what, text, kind, message) => {
    const err = injectError('m.yaml', text);
    expect(err.kind).toBe(kind);
    expect(err.message).toContain(message);
  });
});
