/**
 * SecureKey installed with the simulators on a cluster, and what a user does with it — shared by the
 * chart specs (test/e2e/chart.test.ts, test/e2e/node-mode.test.ts) and the first-run demo
 * (scripts/demo.ts): install the chart, apply SecureKeys, prepare workloads with `securekey inject` then a
 * (simulated) policy — or, in node mode, images pinned by digest — and `securekey approve`, and read back
 * the simulated vault's key fingerprints through the API server's service proxy.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { POLICY_ANNOTATIONS } from '../../core/digest/index.ts';
import { IDENTITIES, SANDBOX_TENANT } from '../../sim/sandbox/identities.ts';
import { clusterEventually as eventually } from './eventually.ts';
import { repoRoot } from './paths.ts';
import type { ImageName } from './images.ts';
import type { TargetCluster } from './target.ts';

export const SYSTEM = 'securekey-system';
export const APPS = 'default';
export const SIMULATORS_ACK = 'I understand these are simulators and protect nothing';
const DOMAIN = `${SYSTEM}.svc.cluster.local`;
export const VAULT = `https://sandbox.managedhsm.${DOMAIN}:8443`;
export const MAA = `https://securekey-simulators.${DOMAIN}:8444`;
const ENTRA = `https://securekey-simulators.${DOMAIN}:8445`;
const PSP = `https://securekey-simulators.${DOMAIN}:8446`;
const AGENT_CLIENT = IDENTITIES.find((i) => i.name === 'agent')!.clientId;
export const KATA_POLICY = POLICY_ANNOTATIONS['kata-agent-policy'];

export type Obj = Record<string, unknown>;
export type PodState = Obj & {
  metadata: { name: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    phase?: string;
    containerStatuses?: Array<{ name: string; state: Obj; restartCount: number; imageID?: string }>;
    initContainerStatuses?: Array<{ name: string; state: Obj; restartCount: number; imageID?: string }>;
  };
};
export const b64 = (s: string) => Buffer.from(s).toString('base64');

export interface SecureKeyState {
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    key?: { version?: string };
    policy?: { digests?: Array<{ digest: string; pod?: string; approvedBy?: string }> };
    proposals?: Array<{ digest: string; pod: string; reason: string }>;
  };
}

export interface VaultKeyPrints {
  deleted: boolean;
  versions: Array<{ version: string; sha256: string }>;
}

/** A spec.workloads.approvers entry: who may approve pod digests, by public JWK. */
export interface ApproverEntry {
  name: string;
  publicKey: Obj;
}

/**
 * A SecureKey for pods labelled `app`. With approvers it runs as users should (approval Signed, the
 * default): only digests they signed are admitted; without, it trusts every pod creator (Observed).
 * `mode: 'Node'` makes it a node-mode SecureKey (ADR 37), served by the node agent.
 */
export function secureKey(
  name: string,
  app: string,
  deletionPolicy: 'Retain' | 'Delete',
  approvers: readonly ApproverEntry[] = [],
  { mode }: { mode?: 'Node' } = {},
): Obj {
  const approval =
    approvers.length > 0 ? { approval: 'Signed', approvers } : { approval: 'Observed' as const };
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { name, namespace: APPS },
    spec: {
      ...(mode ? { mode } : {}),
      vault: { url: VAULT, type: 'ManagedHSM' },
      key: { name, type: 'oct-HSM', size: 256 },
      attestation: { authorities: [MAA] },
      workloads: { podSelector: { matchLabels: { app } }, policyScheme: 'kata-agent-policy', ...approval },
      deletionPolicy,
    },
  };
}

/** The application: prints the SHA-256 of the key it reads (never the key), then waits or exits. */
export const reader = (forever: boolean) =>
  "const fs=require('node:fs'),c=require('node:crypto');const show=()=>console.log('key-sha256='+" +
  "c.createHash('sha256').update(fs.readFileSync('/run/securekey/db')).digest('hex'));show();" +
  (forever ? 'setInterval(()=>{},1e6)' : '');

export class SimulatedInstall {
  readonly cluster: TargetCluster;
  readonly #dir = mkdtempSync(path.join(tmpdir(), 'securekey-install-'));
  #caFile = '';
  #adminToken = '';
  /** The private approver key `securekey approve` signs with (what CI would keep in its secret store). */
  #approvals = 0;
  readonly #approverKey = path.join(this.#dir, 'approver.jwk');
  /** This install's approver, made with `securekey approver-key`: for the SecureKeys' spec.workloads.approvers. */
  readonly approvers: ApproverEntry[];

  constructor(cluster: TargetCluster) {
    this.cluster = cluster;
    const printed = this.#cli(['approver-key', '--out', this.#approverKey, '--name', 'ci']);
    this.approvers = parse(printed) as ApproverEntry[];
  }

  /** `securekey rotate` of a SecureKey in the apps namespace, against this cluster; waits for the new version. */
  rotate(name: string): string {
    return this.#cli(['rotate', '--securekey', `${APPS}/${name}`, '--kubeconfig', this.cluster.kubeconfig]);
  }

  /** Runs the real `securekey` CLI; returns its standard output. */
  #cli(args: string[]): string {
    return execFileSync(
      path.join(repoRoot, 'node_modules/.bin/node'),
      [path.join(repoRoot, 'cli/securekey.ts'), ...args],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  /** `helm install` with the simulators, waiting for every Deployment (and DaemonSet). */
  async install(extraSets: string[] = []): Promise<void> {
    const img = this.cluster.images;
    this.cluster.helm([
      'install',
      'securekey',
      path.join(repoRoot, 'charts/securekey'),
      '--namespace',
      SYSTEM,
      '--create-namespace',
      '--wait',
      '--timeout',
      '5m',
      '--set',
      `operator.image.repository=${img.operator.repository},operator.image.tag=${img.operator.tag}`,
      '--set',
      `agent.image.repository=${img.agent.repository},agent.image.tag=${img.agent.tag}`,
      '--set',
      `simulators.image.repository=${img.simulators.repository},simulators.image.tag=${img.simulators.tag}`,
      '--set',
      'operator.image.pullPolicy=IfNotPresent,simulators.image.pullPolicy=IfNotPresent,simulators.enabled=true',
      '--set-string',
      `simulators.acknowledge=${SIMULATORS_ACK}`,
      ...extraSets.flatMap((s) => ['--set', s]),
    ]);
    const secret = await this.cluster.http.expect<{ data: Record<string, string> }>(
      'GET',
      `/api/v1/namespaces/${SYSTEM}/secrets/securekey-simulators-ca`,
      [200],
    );
    this.#caFile = path.join(this.#dir, 'simulators-ca.crt');
    writeFileSync(this.#caFile, Buffer.from(secret.data['ca.crt']!, 'base64'));
    this.#adminToken = Buffer.from(secret.data['admin-token']!, 'base64').toString();
  }

  /** Removes the scratch files (not the release). */
  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** The simulated vault's fingerprints of a key (SHA-256 per version, never the material). */
  async vaultKey(name: string): Promise<VaultKeyPrints | undefined> {
    const res = await this.cluster.http.request<VaultKeyPrints>(
      'GET',
      `/api/v1/namespaces/${SYSTEM}/services/https:managedhsm:8443/proxy/_simulator/keys/${name}/fingerprints`,
      { headers: { 'x-simulator-admin-token': this.#adminToken } },
    );
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`vault fingerprints: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async applySecureKey(sk: Obj): Promise<void> {
    await this.cluster.http.expect(
      'POST',
      `/apis/securekey.io/v1alpha1/namespaces/${APPS}/securekeys`,
      [201],
      {
        body: sk,
      },
    );
  }

  async getSecureKey(name: string): Promise<SecureKeyState> {
    return this.cluster.http.expect(
      'GET',
      `/apis/securekey.io/v1alpha1/namespaces/${APPS}/securekeys/${name}`,
      [200],
    );
  }

  async readySecureKey(name: string): Promise<SecureKeyState> {
    return eventually(
      async () => {
        const sk = await this.getSecureKey(name);
        return sk.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? sk : undefined;
      },
      120_000,
      `SecureKey ${name} Ready`,
    );
  }

  /**
   * What a user does for confidential containers: `securekey inject` on the manifests (the real CLI, the
   * webhook's mutation, with the simulators' settings), then "generate the policy" — here a simulated one,
   * set as the Kata policy annotation on every pod template — then, unless `approve` is false, `securekey
   * approve` with this install's approver key, as CI would. Returns the manifests to apply.
   */
  injectThenPolicy(
    manifests: Obj[],
    policyText: string,
    secureKeyName: string,
    { approve = true }: { approve?: boolean } = {},
  ): Obj[] {
    const out = this.#inject(manifests, secureKey(secureKeyName, '-', 'Retain'), [
      '--agent-image',
      this.cluster.images.agent.ref,
      '--tenant-id',
      SANDBOX_TENANT,
      '--client-id',
      AGENT_CLIENT,
      '--authority-host',
      ENTRA,
      '--psp-url',
      PSP,
      '--simulators-ca',
      this.#caFile,
    ]);
    const withPolicy = out.map((doc) => {
      const template = doc['kind'] === 'Pod' ? doc : ((doc['spec'] as Obj)['template'] as Obj);
      const meta = (template['metadata'] ?? {}) as { annotations?: Record<string, string> };
      meta.annotations = { ...meta.annotations, [KATA_POLICY]: b64(policyText) };
      template['metadata'] = meta;
      return doc;
    });
    return approve ? this.#approve(withPolicy) : withPolicy;
  }

  /**
   * What a user does for node mode (ADR 37, 39): `securekey inject` with the node agent's URL and CA
   * ConfigMap (as the operator has them), the node client's image pinned by digest, then, unless
   * `approve` is false, `securekey approve` (scheme node-containers: every image must be pinned).
   */
  async injectNodeMode(
    manifests: Obj[],
    secureKeyName: string,
    { approve = true }: { approve?: boolean } = {},
  ): Promise<Obj[]> {
    const env = await this.#operatorEnv();
    const out = this.#inject(manifests, secureKey(secureKeyName, '-', 'Retain', [], { mode: 'Node' }), [
      '--agent-image',
      await this.pinnedImage('agent'),
      '--node-agent-url',
      env['SECUREKEY_NODE_AGENT_URL']!,
      '--node-agent-ca-configmap',
      env['SECUREKEY_NODE_AGENT_CA_CONFIGMAP']!,
    ]);
    return approve ? this.#approve(out) : out;
  }

  /** `securekey inject` of `manifests` beside `sk` (only its mode, vault, key and authority are read). */
  #inject(manifests: Obj[], sk: Obj, args: string[]): Obj[] {
    const files = [sk, ...manifests].map((m, i) => {
      const f = path.join(this.#dir, `${String((m['metadata'] as Obj)['name'])}-${i}.yaml`);
      writeFileSync(f, stringify(m));
      return f;
    });
    return parseAllDocuments(this.#cli(['inject', ...files.flatMap((f) => ['-f', f]), ...args]))
      .map((d) => d.toJS() as Obj)
      .filter((doc) => doc['kind'] !== 'SecureKey');
  }

  /** `securekey approve` with this install's approver key, as CI would. */
  #approve(docs: Obj[]): Obj[] {
    const generated = path.join(this.#dir, `generated-${++this.#approvals}.yaml`);
    writeFileSync(generated, docs.map((d) => stringify(d)).join('---\n'));
    const approved = this.#cli(['approve', '-f', generated, '--key', this.#approverKey, '--namespace', APPS]);
    return parseAllDocuments(approved).map((d) => d.toJS() as Obj);
  }

  /** The operator's environment (one container), e.g. the node agent's URL and CA ConfigMap it injects. */
  async #operatorEnv(): Promise<Record<string, string>> {
    const d = await this.cluster.http.expect<{
      spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
    }>('GET', `/apis/apps/v1/namespaces/${SYSTEM}/deployments/securekey-operator`, [200]);
    const env = d.spec.template.spec.containers[0]?.env ?? [];
    return Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  }

  /**
   * The image `name` pinned by digest (`repo@sha256:…`), as the kubelet reports it for a running pod of
   * the release — the reference the node's runtime resolves without a registry.
   */
  async pinnedImage(name: ImageName): Promise<string> {
    const { repository } = this.cluster.images[name];
    const pods = await this.cluster.http.expect<{ items: PodState[] }>(
      'GET',
      `/api/v1/namespaces/${SYSTEM}/pods`,
      [200],
    );
    const ids = pods.items.flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => c.imageID ?? ''));
    const pinned = ids
      .map((id) => id.replace(/^[a-z-]+:\/\//, ''))
      .find((id) => id.startsWith(`${repository}@sha256:`));
    if (pinned === undefined) {
      throw new Error(
        `no running pod of the release reports ${repository}@sha256:… (imageIDs: ${ids.join(', ') || 'none'}); ` +
          'import the images with their digests',
      );
    }
    return pinned;
  }

  /** A pod whose application reads the key `db` of `secureKeyName`; its image the agent's unless given. */
  podManifest(
    name: string,
    app: string,
    secureKeyName: string,
    forever = false,
    image = this.cluster.images.agent.ref,
  ): Obj {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: APPS,
        labels: { app },
        annotations: { 'securekey.io/key-db': secureKeyName },
      },
      spec: {
        restartPolicy: 'Never',
        containers: [
          {
            name: 'app',
            image,
            imagePullPolicy: 'IfNotPresent',
            command: ['/usr/local/bin/node', '-e', reader(forever)],
          },
        ],
      },
    };
  }

  async createPod(manifest: Obj): Promise<void> {
    const res = await this.cluster.http.request('POST', `/api/v1/namespaces/${APPS}/pods`, {
      body: manifest,
    });
    if (res.status !== 201) throw new Error(`creating a pod: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  }

  async pod(name: string): Promise<PodState> {
    return this.cluster.http.expect('GET', `/api/v1/namespaces/${APPS}/pods/${name}`, [200]);
  }

  async podPhase(name: string): Promise<string | undefined> {
    return (await this.pod(name)).status?.phase;
  }

  async waitPhase(name: string, phase: 'Succeeded' | 'Failed' | 'Running', ms = 150_000): Promise<void> {
    await eventually(
      async () => ((await this.podPhase(name)) === phase ? true : undefined),
      ms,
      `pod ${name} ${phase}`,
    );
  }

  /** The operator pod holding the Lease — one that exists now (a Lease outlives an earlier release's pods). */
  async currentLeader(): Promise<string> {
    return eventually(
      async () => {
        const lease = await this.cluster.http.expect<{ spec: { holderIdentity?: string } }>(
          'GET',
          `/apis/coordination.k8s.io/v1/namespaces/${SYSTEM}/leases/securekey-operator`,
          [200],
        );
        const holder = lease.spec.holderIdentity;
        if (!holder) return undefined;
        const pod = await this.cluster.http.request<PodState>(
          'GET',
          `/api/v1/namespaces/${SYSTEM}/pods/${holder}`,
        );
        return pod.status === 200 &&
          pod.body.status?.phase === 'Running' &&
          !pod.body.metadata.deletionTimestamp
          ? holder
          : undefined;
      },
      60_000,
      'a running operator pod holding the Lease',
    );
  }
}
