import { describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { agentSettings } from '../../core/inject/index.ts';
import { AZURE_ATTESTATION_SUFFIXES } from '../reconcile/authorities.ts';
import { AZURE_VAULT_SUFFIXES } from '../vault/vaults.ts';
import { admit, type AdmissionContext } from './admission.ts';
import { refusalFor } from './run-webhook.ts';

const secureKey = (vault: string, authority: string): SecureKey =>
  ({
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { name: 'db-key', namespace: 'shop' },
    spec: {
      vault: { url: vault },
      key: { name: 'db-key', type: 'RSA-HSM', size: 2048 },
      attestation: { authorities: [authority] },
      workloads: {},
    },
  }) as SecureKey;

function review() {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'shop',
      object: {
        metadata: {
          name: 'db',
          labels: { 'securekey.io/inject': 'true' },
          annotations: { 'securekey.io/key-db': 'db-key' },
        },
        spec: { containers: [{ name: 'app', image: 'a' }] },
      },
    },
  } as Parameters<typeof admit>[0];
}

function context(sk: SecureKey): AdmissionContext {
  return {
    settings: agentSettings({ image: 'agent:1' }),
    excludedNamespaces: new Set(),
    resolve: async () => sk,
    refusal: refusalFor({ vaultSuffixes: AZURE_VAULT_SUFFIXES, authorities: AZURE_ATTESTATION_SUFFIXES }),
  };
}

describe('admission of pods whose SecureKey the operator would refuse', () => {
  it('mutates a pod whose SecureKey names an allowed vault and authority', async () => {
    const sk = secureKey('https://hsm1.managedhsm.azure.net', 'https://sharedeus.eus.attest.azure.net');
    expect((await admit(review(), context(sk))).outcome).toBe('mutated');
  });

  it('denies, naming the problem, when the vault or the authority is one the operator refuses', async () => {
    const foreignMaa = secureKey('https://hsm1.managedhsm.azure.net', 'https://attacker.example.com');
    const denied = await admit(review(), context(foreignMaa));
    expect(denied.outcome).toBe('denied');
    expect(denied.response.status?.message).toContain(
      'SecureKey db-key cannot be used: spec.attestation.authorities[0] https://attacker.example.com is not an attestation service this operator may trust',
    );
    const foreignVault = secureKey('https://evil.example.com', 'https://sharedeus.eus.attest.azure.net');
    expect((await admit(review(), context(foreignVault))).response.status?.message).toContain(
      'spec.vault.url https://evil.example.com is not a vault this operator may use',
    );
  });
});

describe('admission of pods whose SecureKey serves node mode', () => {
  const node: AdmissionContext['settings'] = agentSettings({
    image: 'agent:1',
    nodeAgentUrl: 'https://securekey-node.securekey-system.svc:8443',
    nodeAgentCaConfigMap: 'securekey-node-ca',
  });
  const nodeKey = (): SecureKey => {
    const sk = secureKey('https://hsm1.managedhsm.azure.net', 'https://sharedeus.eus.attest.azure.net');
    sk.spec.mode = 'Node';
    return sk;
  };
  const patched = (response: { patch?: string }) =>
    JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8')) as Array<{ value?: unknown }>;

  it('gives the pod the node client, with the node-audience token and the node agent’s CA, by the SecureKey alone', async () => {
    const { response, outcome } = await admit(review(), { ...context(nodeKey()), settings: node });
    expect(outcome).toBe('mutated');
    const patch = JSON.stringify(patched(response));
    expect(patch).toContain('"args":["node","--key=db=db-key","--format=db=raw","--file=db=db"]');
    expect(patch).toContain('"audience":"securekey-node"');
    expect(patch).toContain('"configMap":{"name":"securekey-node-ca"');
    expect(patch).not.toContain('AzureADTokenExchange');
  });

  it('denies it where no node agent is configured, and a pod-mode SecureKey asked for in node mode', async () => {
    const unconfigured = await admit(review(), context(nodeKey()));
    expect(unconfigured.outcome).toBe('denied');
    expect(unconfigured.response.status?.message).toMatch(
      /SecureKey db-key serves node mode, but node mode needs/,
    );
    const podMode = review();
    const meta = (podMode.request?.object as { metadata: { annotations: Record<string, string> } }).metadata;
    meta.annotations['securekey.io/agent-mode'] = 'node';
    const sk = secureKey('https://hsm1.managedhsm.azure.net', 'https://sharedeus.eus.attest.azure.net');
    const denied = await admit(podMode, { ...context(sk), settings: node });
    expect(denied.response.status?.message).toMatch(/SecureKey db-key serves pod mode/);
  });
});

describe('malformed reviews (counterexamples found by fuzzing)', () => {
  const sk = secureKey('https://hsm1.managedhsm.azure.net', 'https://sharedeus.eus.attest.azure.net');
  type Pod = {
    metadata: { annotations: Record<string, unknown> };
    spec: { containers: Record<string, unknown>[] };
  };
  const withPod = (change: (pod: Pod) => void) => {
    const r = review();
    change(r.request!.object as unknown as Pod);
    return r;
  };

  it.each([
    ['no request', {}, '', 'malformed AdmissionReview: no request object'],
    ['no review at all', null, '', 'malformed AdmissionReview: no request object'],
    ['a uid that is not a string', { request: { uid: {} } }, '', 'request.uid is missing or not a string'],
    [
      'a non-string annotation',
      withPod((p) => (p.metadata.annotations['securekey.io/format-db'] = {})),
      'u1',
      'malformed pod: metadata.annotations["securekey.io/format-db"] is an object, not a string',
    ],
    [
      'a null volume mount',
      withPod((p) => (p.spec.containers[0]!['volumeMounts'] = [null])),
      'u1',
      'malformed pod: spec.containers[0].volumeMounts[0] is null, not an object',
    ],
  ])('denies %s with a message instead of throwing', async (_what, body, uid, message) => {
    const { response, outcome } = await admit(body as never, context(sk));
    expect(outcome).toBe('denied');
    expect(response).toMatchObject({ uid, allowed: false, status: { code: 400 } });
    expect(response.status?.message).toContain(message);
  });
});
