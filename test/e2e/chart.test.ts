/**
 * SecureKey as users install it (issue 6): the Helm chart with the in-cluster simulators on a real cluster
 * (the local cluster in CI, kind through test/e2e/kind.sh), the operator and its webhook in their pods,
 * workloads prepared with `securekey inject` before their (simulated) policy is generated, and the agent
 * image in real pods writing to a real tmpfs. The specs only use the API server, Helm and the CLI.
 *
 * Order matters: one release serves every spec, uninstall comes last.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyDigest } from '../../core/digest/index.ts';
import { clusterEventually as eventually } from '../../scripts/cluster/eventually.ts';
import { startTargetCluster, type TargetCluster } from '../../scripts/cluster/target.ts';
import {
  APPS,
  b64,
  KATA_POLICY,
  reader,
  secureKey,
  SimulatedInstall,
  SYSTEM,
  type Obj,
} from '../../scripts/cluster/simulated-install.ts';

let cluster: TargetCluster;
let install: SimulatedInstall;

beforeAll(async () => {
  cluster = await startTargetCluster();
  install = new SimulatedInstall(cluster);
  // A short Lease, so the operator-restart spec sees a hand-over quickly; the chart's default is 15 s.
  await install.install(['operator.leaseDuration=6s']);
}, 900_000);

afterAll(async () => {
  // What the specs made in the workloads' namespace, so a kept (kind) cluster can run them again.
  for (const path of [
    `/apis/apps/v1/namespaces/${APPS}/deployments/web`,
    ...['db', 'intruder', 'cache'].map((p) => `/api/v1/namespaces/${APPS}/pods/${p}`),
  ]) {
    await cluster?.http.request('DELETE', path, { query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
  }
  install?.close();
  await cluster?.stop();
});

const digestOf = (policy: string) => policyDigest('kata-agent-policy', { [KATA_POLICY]: b64(policy) }).digest;

describe('the chart with simulators on a real cluster', () => {
  it('installs: two operator replicas with one leader, the simulators labelled as such, the webhook registered', async () => {
    const operator = await cluster.http.expect<{ status: { readyReplicas?: number } }>(
      'GET',
      `/apis/apps/v1/namespaces/${SYSTEM}/deployments/securekey-operator`,
      [200],
    );
    expect(operator.status.readyReplicas).toBe(2);
    expect(await install.currentLeader()).toMatch(/^securekey-operator-/);
    const sims = await cluster.http.expect<{ metadata: { labels: Record<string, string> } }>(
      'GET',
      `/apis/apps/v1/namespaces/${SYSTEM}/deployments/securekey-simulators`,
      [200],
    );
    expect(sims.metadata.labels['securekey.io/simulator']).toBe('true');
    // The leader writes its CA into the configuration.
    const caBundle = await eventually(
      async () =>
        (
          await cluster.http.expect<{ webhooks: Array<{ clientConfig: { caBundle?: string } }> }>(
            'GET',
            '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/securekey-securekey',
            [200],
          )
        ).webhooks[0]?.clientConfig.caBundle,
      30_000,
      'the webhook caBundle',
    );
    expect(Buffer.from(caBundle, 'base64').toString()).toContain('BEGIN CERTIFICATE');
  });

  it('an admitted pod: its application reads /run/securekey/db and it is the vault’s key', async () => {
    await install.applySecureKey(secureKey('db-key', 'db', 'Delete', install.approvers));
    const ready = await install.readySecureKey('db-key');
    expect(ready.status?.key?.version).toMatch(/^[0-9a-f]{32}$/);

    const policy = 'package agent_policy\ndefault allow := true # db v1';
    const [injected] = install.injectThenPolicy(
      [install.podManifest('db', 'db', 'db-key')],
      policy,
      'db-key',
    );
    await install.createPod(injected!);
    // The webhook left the injected pod as it was (a mutation would break the measured policy).
    const created = await install.pod('db');
    expect((created['metadata'] as { annotations: Record<string, string> }).annotations[KATA_POLICY]).toBe(
      b64(policy),
    );
    await install.waitPhase('db', 'Succeeded');

    const key = await install.vaultKey('db-key');
    expect(key?.versions).toHaveLength(1);
    expect(await cluster.logs(APPS, 'db', 'app')).toContain(`key-sha256=${key!.versions[0]!.sha256}`);
    const digest = digestOf(policy);
    const sk = await install.getSecureKey('db-key');
    expect(sk.status?.policy?.digests?.find((d) => d.digest === digest)).toMatchObject({ approvedBy: 'ci' });
    const agentLog = await cluster.logs(APPS, 'db', 'securekey-agent');
    expect(agentLog).toContain('"msg":"ready"');
    expect(agentLog).not.toContain(key!.versions[0]!.sha256);
  });

  it('a pod whose policy is not admitted: its agent fails naming the digest, its application never starts', async () => {
    const policy = 'package agent_policy\ndefault allow := true # not the db policy';
    const [injected] = install.injectThenPolicy(
      [install.podManifest('intruder', 'intruder', 'db-key')],
      policy,
      'db-key',
      { approve: false },
    );
    await install.createPod(injected!);
    // The agent waits the injected admission wait (30 s) for the operator, which never admits this pod.
    await install.waitPhase('intruder', 'Failed');
    const digest = digestOf(policy);
    // The agent's failure line itself (not its progress lines, which also carry the digest).
    const failure = (await cluster.logs(APPS, 'intruder', 'securekey-agent'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level?: string; kind?: string; step?: string; message?: string })
      .find((e) => e.level === 'error');
    expect(failure).toMatchObject({ kind: 'digest-not-admitted', step: 'release' });
    expect(failure?.message).toContain(`digest ${digest} not admitted by the release policy of key db-key`);
    const status = (await install.pod('intruder')).status;
    const app = status?.containerStatuses?.find((c) => c.name === 'app');
    expect(app?.state).toHaveProperty('waiting'); // created, never started
    expect(app?.restartCount).toBe(0);
  });

  it('a Deployment rolled to a new policy: old and new pods both hold the key during the rollout', async () => {
    await install.applySecureKey(secureKey('web-key', 'web', 'Retain', install.approvers));
    await install.readySecureKey('web-key');
    const deployment = (policyNote: string): Obj => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: APPS },
      spec: {
        replicas: 1,
        // The old pod stays this long after the new one is ready: the overlap the spec observes.
        minReadySeconds: 20,
        selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: {
            labels: { app: 'web' },
            annotations: { 'securekey.io/key-db': 'web-key', 'example.com/release': policyNote },
          },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'app',
                image: cluster.images.agent.ref,
                imagePullPolicy: 'IfNotPresent',
                command: ['/usr/local/bin/node', '-e', reader(true)],
              },
            ],
          },
        },
      },
    });
    const v1 = install.injectThenPolicy(
      [deployment('v1')],
      'package agent_policy\ndefault allow := true # web v1',
      'web-key',
    )[0]!;
    await cluster.http.expect('POST', `/apis/apps/v1/namespaces/${APPS}/deployments`, [201], { body: v1 });
    const expected = (await eventually(() => install.vaultKey('web-key'), 30_000, 'web-key in the vault'))!
      .versions[0]!.sha256;
    const webPods = async () =>
      (
        await cluster.http.expect<{
          items: Array<{
            metadata: { name: string; annotations: Record<string, string>; deletionTimestamp?: string };
            status: { phase?: string };
          }>;
        }>('GET', `/api/v1/namespaces/${APPS}/pods`, [200], { query: { labelSelector: 'app=web' } })
      ).items;
    const holding = async (name: string) =>
      (await cluster.logs(APPS, name, 'app')).includes(`key-sha256=${expected}`);
    const old = await eventually(
      async () => {
        for (const p of await webPods())
          if (p.status.phase === 'Running' && (await holding(p.metadata.name))) return p;
        return undefined;
      },
      150_000,
      'the v1 pod holding the key',
    );

    const v2 = install.injectThenPolicy(
      [deployment('v2')],
      'package agent_policy\ndefault allow := true # web v2',
      'web-key',
    )[0]!;
    await cluster.http.expect('PATCH', `/apis/apps/v1/namespaces/${APPS}/deployments/web`, [200], {
      body: { spec: { template: (v2['spec'] as Obj)['template'] } },
      contentType: 'application/merge-patch+json',
    });
    const digests = ['v1', 'v2'].map((v) =>
      digestOf(`package agent_policy\ndefault allow := true # web ${v}`),
    );
    // The new pod gets the key while the old one still runs (maxUnavailable 0), both digests admitted.
    const fresh = await eventually(
      async () => {
        const pods = await webPods();
        const oldStill = pods.find(
          (p) =>
            p.metadata.name === old.metadata.name &&
            p.status.phase === 'Running' &&
            p.metadata.deletionTimestamp === undefined,
        );
        for (const p of pods) {
          if (p.metadata.name === old.metadata.name || p.metadata.annotations[KATA_POLICY] === undefined)
            continue;
          if (oldStill && (await holding(p.metadata.name))) return p;
        }
        return undefined;
      },
      150_000,
      'a v2 pod holding the key beside the running v1 pod',
    );
    expect(fresh.metadata.annotations[KATA_POLICY]).toBe(
      b64('package agent_policy\ndefault allow := true # web v2'),
    );
    const admitted = (await install.getSecureKey('web-key')).status?.policy?.digests?.map((d) => d.digest);
    expect(admitted).toEqual(expect.arrayContaining(digests));
    // The rollout completes: the old pod goes, the new one keeps running.
    await eventually(
      async () => !(await webPods()).some((p) => p.metadata.name === old.metadata.name),
      120_000,
      'the v1 pod gone',
    );
  });

  it('the leading operator restarted mid-flow: the new leader finishes the work, nothing is lost or doubled', async () => {
    const leader = await install.currentLeader();
    await install.applySecureKey(secureKey('cache-key', 'cache', 'Delete', install.approvers));
    // A plain delete, as a node drain or a rollout does: the replica stops leading at once and keeps
    // answering admissions while the endpoints catch up, so the pod below is admitted without a retry.
    await cluster.http.expect('DELETE', `/api/v1/namespaces/${SYSTEM}/pods/${leader}`, [200]);
    const [injected] = install.injectThenPolicy(
      [install.podManifest('cache', 'cache', 'cache-key')],
      'package agent_policy\ndefault allow := true # cache',
      'cache-key',
    );
    await install.createPod(injected!);
    await install.waitPhase('cache', 'Succeeded');
    const key = await install.vaultKey('cache-key');
    expect(key?.versions).toHaveLength(1);
    expect(await cluster.logs(APPS, 'cache', 'app')).toContain(`key-sha256=${key!.versions[0]!.sha256}`);
    // Another replica took over and did the work above.
    expect(await install.currentLeader()).not.toBe(leader);
  });

  it('deleting SecureKeys follows deletionPolicy; uninstall keeps the CRD and removes the rest', async () => {
    for (const name of ['db-key', 'web-key', 'cache-key']) {
      await cluster.http.expect(
        'DELETE',
        `/apis/securekey.io/v1alpha1/namespaces/${APPS}/securekeys/${name}`,
        [200],
      );
    }
    await eventually(
      async () =>
        (
          await cluster.http.expect<{ items: unknown[] }>(
            'GET',
            `/apis/securekey.io/v1alpha1/namespaces/${APPS}/securekeys`,
            [200],
          )
        ).items.length === 0,
      60_000,
      'the SecureKeys finalized',
    );
    expect((await install.vaultKey('db-key'))?.deleted).toBe(true); // Delete: soft-deleted, recoverable
    expect((await install.vaultKey('cache-key'))?.deleted).toBe(true);
    expect((await install.vaultKey('web-key'))?.deleted).toBe(false); // Retain: kept

    cluster.helm(['uninstall', 'securekey', '--namespace', SYSTEM, '--wait', '--timeout', '3m']);
    expect(
      (
        await cluster.http.request(
          'GET',
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/securekeys.securekey.io',
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await cluster.http.request(
          'GET',
          '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/securekey-securekey',
        )
      ).status,
    ).toBe(404);
    expect(
      (await cluster.http.request('GET', `/apis/apps/v1/namespaces/${SYSTEM}/deployments/securekey-operator`))
        .status,
    ).toBe(404);
  });
});
