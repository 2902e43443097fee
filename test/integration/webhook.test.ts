/**
 * The mutating webhook registered with the real kube-apiserver (a MutatingWebhookConfiguration whose
 * clientConfig.url points at the test's server, with its own CA in caBundle): opt-in pods come back
 * mutated, a second admission changes nothing, Kata-annotated pods without the agent are denied.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';
import { AGENT_CONTAINER, KEYS_MOUNT_PATH, STATUS_ANNOTATION } from '../../core/inject/index.ts';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { Registry } from '../../operator/observability/metrics.ts';
import { agentSettings } from '../../core/inject/index.ts';
import { planWebhookTls } from '../../operator/webhook/certificates.ts';
import { startWebhookServer, type WebhookServer } from '../../operator/webhook/server.ts';
import { secureKeyPath } from '../../edge/kube/secure-keys.ts';

const NS = 'webhook-test';

interface Container {
  name: string;
  args?: string[];
  volumeMounts?: Array<Record<string, unknown>>;
}

interface PodJson {
  metadata: { uid?: string; creationTimestamp?: string; annotations: Record<string, string> };
  spec: { initContainers?: Container[]; containers: Container[]; volumes?: Array<Record<string, unknown>> };
  status?: unknown;
}
const HOOK = 'securekey-test-injector';

describe('mutating webhook on a real API server', () => {
  let http: KubeHttp;
  let server: WebhookServer;
  const registry = new Registry();
  const latency = registry.histogram({
    name: 'securekey_webhook_admission_duration_seconds',
    help: 'Admission latency by outcome.',
    labelNames: ['outcome'],
  });
  const outcomes = () => registry.render();

  beforeAll(async () => {
    http = KubeHttp.fromFile(inject('kubeconfig'));
    await http.expect('POST', '/api/v1/namespaces', [201, 409], { body: { metadata: { name: NS } } });
    await http.expect('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, [201, 409], {
      body: { metadata: { name: 'default' } },
    });
    await http.expect('POST', secureKeyPath(NS), [201], {
      body: {
        apiVersion: 'securekey.io/v1alpha1',
        kind: 'SecureKey',
        metadata: { name: 'db-key' },
        spec: {
          vault: { url: 'https://contoso.managedhsm.azure.net' },
          key: { name: 'db', type: 'oct-HSM', size: 256 },
          attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
          workloads: { podSelector: { matchLabels: { app: 'db' } } },
        },
      },
    });
    await http.expect('POST', secureKeyPath(NS), [201], {
      body: {
        apiVersion: 'securekey.io/v1alpha1',
        kind: 'SecureKey',
        metadata: { name: 'node-key' },
        spec: {
          mode: 'Node',
          vault: { url: 'https://contoso.managedhsm.azure.net' },
          key: { name: 'node', type: 'oct-HSM', size: 256 },
          attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
          workloads: { podSelector: { matchLabels: { app: 'node' } } },
        },
      },
    });
    const { tls } = planWebhookTls(undefined, ['127.0.0.1'], new Date());
    server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      latency,
      context: {
        settings: agentSettings({
          image: 'securekey/agent:test',
          tenantId: 't',
          clientId: 'c',
          evidence: 'sev-guest',
          nodeAgentUrl: 'https://securekey-node.securekey-system.svc:8443',
          nodeAgentCaConfigMap: 'securekey-node-ca',
        }),
        excludedNamespaces: new Set(['kube-system', 'securekey-system']),
        resolve: async (ns, name) => {
          const r = await http.request<SecureKey>('GET', secureKeyPath(ns, name));
          return r.status === 200 ? r.body : undefined;
        },
      },
    });
    await http.expect('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', [201], {
      body: {
        metadata: { name: HOOK },
        webhooks: [
          {
            name: 'inject.securekey.io',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Fail',
            timeoutSeconds: 10,
            clientConfig: {
              url: `${server.url}/mutate`,
              caBundle: Buffer.from(tls.caBundlePem).toString('base64'),
            },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
            objectSelector: { matchLabels: { 'securekey.io/inject': 'true' } },
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
          },
        ],
      },
    });
    // The API server picks new webhook configurations up asynchronously.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = await http.request('POST', `/api/v1/namespaces/${NS}/pods`, {
        query: { dryRun: 'All' },
        body: pod('probe', { 'securekey.io/key-db': 'db-key' }),
      });
      const spec = (r.body as { spec?: { initContainers?: unknown[] } }).spec;
      if (r.status === 201 && spec?.initContainers?.length) break;
      if (Date.now() > deadline)
        throw new Error(`webhook never took effect: ${JSON.stringify(r.body).slice(0, 300)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  afterAll(async () => {
    await http?.request(
      'DELETE',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${HOOK}`,
    );
    await server?.close();
    http?.close();
  });

  function pod(
    name: string,
    annotations: Record<string, string>,
    labels: Record<string, string> = { 'securekey.io/inject': 'true' },
  ) {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels, annotations },
      spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
    };
  }

  it('creating an opt-in pod returns the mutated spec: agent first, keys volume read-only, measured args', async () => {
    const created = await http.expect<PodJson>('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      body: pod('db-0', { 'securekey.io/key-db': 'db-key', 'securekey.io/format-db': 'pem' }),
    });
    const spec = created.spec;
    expect(spec.initContainers![0]!.name).toBe(AGENT_CONTAINER);
    expect(spec.initContainers![0]!.args).toEqual([
      'init',
      '--admission-wait=30s',
      '--key=db=https://contoso.managedhsm.azure.net/keys/db',
      '--format=db=pem',
      '--file=db=db',
      '--authority=db=https://sharedeus.eus.attest.azure.net',
    ]);
    expect(spec.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ mountPath: KEYS_MOUNT_PATH, readOnly: true }),
    );
    expect(spec.volumes).toContainEqual(
      expect.objectContaining({ name: 'securekey-keys', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }),
    );
    expect(created.metadata.annotations[STATUS_ANNOTATION]).toBe('injected');
  });

  it('a second admission of the mutated pod changes nothing', async () => {
    const first = await http.expect<PodJson>('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      query: { dryRun: 'All' },
      body: pod('db-1', { 'securekey.io/key-db': 'db-key' }),
    });
    const again = structuredClone(first);
    delete again.metadata.uid;
    delete again.metadata.creationTimestamp;
    delete again.status;
    const second = await http.expect<PodJson>('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      query: { dryRun: 'All' },
      body: again,
    });
    expect(second.spec.initContainers).toEqual(first.spec.initContainers);
    expect(second.spec.volumes).toEqual(first.spec.volumes);
    expect(second.spec.containers).toEqual(first.spec.containers);
    expect(outcomes()).toMatch(
      /securekey_webhook_admission_duration_seconds_count\{outcome="unchanged"\} [1-9]/,
    );
  });

  it('gives a pod of a node-mode SecureKey the node client: node token, node agent CA, no Azure identity', async () => {
    const created = await http.expect<PodJson>('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      query: { dryRun: 'All' },
      body: pod('node-app', { 'securekey.io/key-db': 'node-key' }),
    });
    const agent = created.spec.initContainers?.[0];
    expect(agent?.name).toBe(AGENT_CONTAINER);
    expect(agent?.args).toEqual(['node', '--key=db=node-key', '--format=db=raw', '--file=db=db']);
    const volumes = JSON.stringify(created.spec.volumes);
    expect(volumes).toContain('"audience":"securekey-node"');
    expect(volumes).toContain('"name":"securekey-node-ca"');
    expect(volumes).not.toContain('AzureADTokenExchange');
    const mixed = await http.request<{ message: string }>('POST', `/api/v1/namespaces/${NS}/pods`, {
      body: pod('mixed', { 'securekey.io/key-db': 'node-key', 'securekey.io/key-log': 'db-key' }),
    });
    expect(mixed.status).toBe(403);
    expect(mixed.body.message).toMatch(
      /node-mode SecureKeys \(node-key\) and of pod-mode SecureKeys \(db-key\)/,
    );
  });

  it('denies a Kata-annotated pod that asks for keys without the agent, saying to run securekey inject', async () => {
    const r = await http.request<{ message: string }>('POST', `/api/v1/namespaces/${NS}/pods`, {
      body: pod('kata', {
        'securekey.io/key-db': 'db-key',
        [POLICY_ANNOTATIONS['kata-agent-policy']]: 'cGFja2FnZQ==',
      }),
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toContain('securekey inject');
    expect(r.body.message).toContain('policy annotation but no SecureKey agent');
  });

  it('denies a pod naming a SecureKey that does not exist, and leaves pods without the label alone', async () => {
    const r = await http.request<{ message: string }>('POST', `/api/v1/namespaces/${NS}/pods`, {
      body: pod('ghost', { 'securekey.io/key-db': 'no-such-key' }),
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/SecureKey no-such-key does not exist in namespace webhook-test/);
    const plain = await http.expect<PodJson>('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
      body: pod('plain', { 'securekey.io/key-db': 'db-key' }, { app: 'plain' }),
    });
    expect(plain.spec.initContainers).toBeUndefined();
  });
});
