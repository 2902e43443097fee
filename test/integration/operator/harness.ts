/**
 * The operator's controller, in-process, against the tier's real kube-apiserver and the sandbox's
 * simulated Managed HSM (reached through the real KeyClient with workload identity). One namespace per
 * test file keeps files independent.
 */
import { SIMULATED_ATTESTATION_SUFFIXES } from '../../../operator/reconcile/authorities.ts';
import { CONFIDENTIAL_RUNTIME_CLASSES } from '../../../core/workload/pod-admission.ts';
import { AGENT_CONTAINER, KEY_ANNOTATION_PREFIX } from '../../../core/inject/annotations.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { SecureKey } from '../../../core/api/securekey.generated.ts';
import { workloadIdentityCredential } from '../../../edge/azure/index.ts';
import { ApprovalCache } from '../../../operator/controller/approval-cache.ts';
import { SecureKeyController } from '../../../operator/controller/secure-key-controller.ts';
import { EventRecorder } from '../../../operator/kube/event-recorder.ts';
import { KubeHttp } from '../../../edge/kube/kube-http.ts';
import { secureKeyPath } from '../../../edge/kube/secure-keys.ts';
import { readClusterId } from '../../../edge/kube/cluster-identity.ts';
import { SecureKeyApi } from '../../../operator/kube/secure-key-api.ts';
import { SIMULATED_VAULT_SUFFIXES, Vaults } from '../../../operator/vault/vaults.ts';
import { startSandbox, type Sandbox } from '../../../sim/sandbox/sandbox.ts';

export { eventually } from '../../../scripts/cluster/eventually.ts';

export const MAA = 'https://sandbox.attest.localhost';
/** A RuntimeClass outside the operator's allowed set. */
export const RUNC = 'runc';

export interface Harness {
  http: KubeHttp;
  ns: string;
  sandbox: Sandbox;
  controller: SecureKeyController;
  events: EventRecorder;
  /** Starts leading (workers); returns a stopper. */
  lead(): () => Promise<void>;
  createSecureKey(name: string, spec?: Record<string, unknown>): Promise<SecureKey>;
  getSecureKey(name: string): Promise<SecureKey | undefined>;
  /**
   * A pod as the webhook and scheduler leave it: bound to a node, kata-cc-isolation, the agent as an
   * init container, and a key from the SecureKey named by its app label. `spec` overrides those.
   */
  createPod(
    name: string,
    annotations: Record<string, string>,
    labels?: Record<string, string>,
    spec?: Record<string, unknown>,
  ): Promise<void>;
  deletePod(name: string): Promise<void>;
  close(): Promise<void>;
}

export function secureKeyBody(
  ns: string,
  name: string,
  spec: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { name, namespace: ns },
    spec: {
      vault: { url: 'https://placeholder.managedhsm.localhost', type: 'ManagedHSM' },
      key: { name, type: 'oct-HSM', size: 256 },
      attestation: { authorities: [MAA] },
      // Specs about reconciling run under Observed; approval.test.ts asks for Signed.
      workloads: { approval: 'Observed', podSelector: { matchLabels: { app: name } } },
      ...spec,
    },
  };
}

export async function startHarness(
  ns: string,
  options: {
    queue?: { baseDelayMs?: number; maxDelayMs?: number };
    resyncMs?: number;
    /** The operator's and the simulated vault's clock (rotation tests move both forward). */
    now?: () => number;
  } = {},
): Promise<Harness> {
  const http = KubeHttp.fromFile(inject('kubeconfig'));
  await http.expect('POST', '/api/v1/namespaces', [201, 409], { body: { metadata: { name: ns } } });
  // No controller-manager here: the ServiceAccount admission plugin needs the default account to exist.
  await http.expect('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, [201, 409], {
    body: { metadata: { name: 'default' } },
  });
  // The RuntimeClass admission plugin refuses pods naming a class that does not exist.
  for (const [name, handler] of [
    [CONFIDENTIAL_RUNTIME_CLASSES[0], 'kata-cc'],
    [RUNC, 'runc'],
  ]) {
    await http.expect('POST', '/apis/node.k8s.io/v1/runtimeclasses', [201, 409], {
      body: { metadata: { name }, handler },
    });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-op-'));
  const sandbox = await startSandbox({ dir, ...(options.now ? { vaultNow: options.now } : {}) });
  const env = sandbox.env('operator');
  const credential = workloadIdentityCredential({
    tenantId: env['AZURE_TENANT_ID']!,
    clientId: env['AZURE_CLIENT_ID']!,
    tokenFilePath: env['AZURE_FEDERATED_TOKEN_FILE']!,
    authorityHost: env['AZURE_AUTHORITY_HOST']!,
    caPem: sandbox.ca.certPem,
  });
  const vaults = new Vaults({
    credential,
    caPem: sandbox.ca.certPem,
    allowedSuffixes: SIMULATED_VAULT_SUFFIXES,
  });
  const events = new EventRecorder({ http, component: 'securekey-operator', instance: 'test' });
  const api = new SecureKeyApi(http);
  const controller = new SecureKeyController({
    http,
    namespace: ns,
    api,
    vault: (url) => vaults.get(url),
    event: (t, type, reason, message) => events.record(t, type, reason, message),
    now: () => new Date(options.now ? options.now() : Date.now()),
    clusterId: await readClusterId(http),
    queue: { baseDelayMs: 50, maxDelayMs: 1000, ...options.queue },
    allowedAuthorities: SIMULATED_ATTESTATION_SUFFIXES,
    verifyApproval: new ApprovalCache().verify,
    ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
  });
  controller.start();
  const leaders: Array<() => Promise<void>> = [];

  return {
    http,
    ns,
    sandbox,
    controller,
    events,
    lead() {
      const abort = new AbortController();
      const done = controller.lead(abort.signal);
      const stop = async () => {
        abort.abort();
        await done;
      };
      leaders.push(stop);
      return stop;
    },
    async createSecureKey(name, spec = {}) {
      const body = secureKeyBody(ns, name, {
        vault: { url: sandbox.vault.url, type: 'ManagedHSM' },
        ...spec,
      });
      return http.expect<SecureKey>('POST', secureKeyPath(ns), [201], { body });
    },
    async getSecureKey(name) {
      return api.get(ns, name);
    },
    async createPod(name, annotations, labels = {}, spec = {}) {
      await http.expect('POST', `/api/v1/namespaces/${ns}/pods`, [201], {
        body: {
          metadata: {
            name,
            labels: { 'securekey.io/inject': 'true', ...labels },
            annotations: { [`${KEY_ANNOTATION_PREFIX}key`]: labels['app'] ?? name, ...annotations },
          },
          spec: {
            nodeName: 'node-1',
            runtimeClassName: CONFIDENTIAL_RUNTIME_CLASSES[0],
            initContainers: [{ name: AGENT_CONTAINER, image: 'example.invalid/agent:1' }],
            containers: [{ name: 'app', image: 'example.invalid/app:1' }],
            automountServiceAccountToken: false,
            ...spec,
          },
        },
      });
    },
    async deletePod(name) {
      // No kubelet: delete at once (grace period 0) so the pod is gone, not just terminating.
      await http.expect('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`, [200, 404], {
        query: { gracePeriodSeconds: 0 },
      });
    },
    async close() {
      for (const stop of leaders) await stop();
      await controller.stop();
      await events.flush();
      await sandbox.close();
      http.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
