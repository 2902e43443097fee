/**
 * Node mode as on an AKS confidential-VM node pool (issue 14), on the local cluster: a simulated Azure vTPM
 * (sim/vtpm, swtpm) on the host stands for the node's, the node labelled as AKS labels CVM nodes, the chart
 * with the simulators and its node agent (`nodeAgent.tpm=unix:…`). Pods are prepared as users do —
 * `securekey inject` with the node agent's URL and CA, images pinned by digest, `securekey approve` — and
 * receive their keys from the node agent, which attests the node through the vTPM (AzureGuest) and
 * releases the key under the CVM policy.
 *
 * Order matters: one release serves every spec; afterAll removes what the specs made and uninstalls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterEventually as eventually } from '../../scripts/cluster/eventually.ts';
import { startTargetCluster, type TargetCluster } from '../../scripts/cluster/target.ts';
import { APPS, secureKey, SimulatedInstall, SYSTEM } from '../../scripts/cluster/simulated-install.ts';
import { simulatedCvmNode, type SimulatedCvmNode } from '../../scripts/cluster/simulated-cvm-node.ts';

const PODS = [
  'vault-reader',
  'unapproved',
  'unselected',
  'after-restart',
  'wrong-audience',
  'elsewhere',
  'other-node-token',
  'recreated',
  'stale-token',
  'other-namespace-key',
  'after-rotation',
];
/** Where another team keeps a node-mode SecureKey of a name the apps namespace does not have. */
const OTHER_NS = 'securekey-e2e-other';
/** A node that does not exist: pods bound to it stay Pending, and their tokens name it. */
const ELSEWHERE = 'cvm-elsewhere';

let cluster: TargetCluster;
let install: SimulatedInstall;
let cvm: SimulatedCvmNode | undefined;

beforeAll(async () => {
  cluster = await startTargetCluster();
  install = new SimulatedInstall(cluster);
  cvm = await simulatedCvmNode(cluster);
  await install.install(cvm.chartValues);
}, 900_000);

afterAll(async () => {
  // What the specs made, then the release: a kept cluster can run them (or chart.test.ts) again.
  if (install) {
    for (const p of PODS) {
      await cluster.http
        .request('DELETE', `/api/v1/namespaces/${APPS}/pods/${p}`, { query: { gracePeriodSeconds: 0 } })
        .catch(() => undefined);
    }
    for (const secret of ['other-node-token', 'stale-token']) {
      await cluster.http
        .request('DELETE', `/api/v1/namespaces/${APPS}/secrets/${secret}`)
        .catch(() => undefined);
    }
    await cluster.http
      .request('DELETE', `/apis/securekey.io/v1alpha1/namespaces/${APPS}/securekeys/node-key`)
      .catch(() => undefined);
    await cluster.http.request('DELETE', `/api/v1/namespaces/${OTHER_NS}`).catch(() => undefined);
    await eventually(
      async () =>
        (
          await cluster.http.request(
            'GET',
            `/apis/securekey.io/v1alpha1/namespaces/${APPS}/securekeys/node-key`,
          )
        ).status === 404,
      60_000,
      'the SecureKey finalized',
    ).catch(() => undefined);
    try {
      cluster.helm(['uninstall', 'securekey', '--namespace', SYSTEM, '--wait', '--timeout', '3m']);
    } catch {
      // not installed
    }
    install.close();
  }
  await cvm?.stop();
  await cluster?.stop();
}, 300_000);

/** The agent container's last JSON log line (the node client's verdict). */
async function lastAgentLine(pod: string): Promise<Record<string, unknown>> {
  const lines = (await cluster.logs(APPS, pod, 'securekey-agent'))
    .split('\n')
    .filter((l) => l.startsWith('{'));
  return JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
}

type Obj = Record<string, unknown>;

/** A pod that never runs (bound to a node that does not exist): something a token can be bound to. */
async function pendingPod(name: string): Promise<{ uid: string }> {
  const pod = await cluster.http.expect<{ metadata: { uid: string } }>(
    'POST',
    `/api/v1/namespaces/${APPS}/pods`,
    [201],
    {
      body: {
        metadata: { name, labels: { app: 'reader' } },
        spec: {
          nodeName: ELSEWHERE,
          containers: [{ name: 'app', image: install.cluster.images.agent.ref }],
        },
      },
    },
  );
  return pod.metadata;
}

/** A token for the node agent's audience, bound to `pod` — what a pod on that pod's node would hold. */
async function boundToken(pod: string, uid: string): Promise<string> {
  const answer = await cluster.http.expect<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${APPS}/serviceaccounts/default/token`,
    [201],
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: ['securekey-node'],
          expirationSeconds: 600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod, uid },
        },
      },
    },
  );
  return answer.status.token;
}

/** The pod's node token volume (what its agent presents), replaced by `source`. */
function withTokenVolume(pod: Obj, source: Obj): Obj {
  const spec = pod['spec'] as { volumes: Array<Obj & { name: string }> };
  const volume = spec.volumes.find((v) => v.name === 'securekey-node-token');
  if (!volume) throw new Error('the injected pod has no securekey-node-token volume');
  delete volume['projected'];
  Object.assign(volume, source);
  return pod;
}

/** An approved, selected pod for node-key whose agent presents the token in Secret `secret`. */
async function podWithStolenToken(name: string, secret: string, token: string): Promise<void> {
  await cluster.http.expect('POST', `/api/v1/namespaces/${APPS}/secrets`, [201], {
    body: { metadata: { name: secret }, stringData: { token } },
  });
  const [prepared] = await install.injectNodeMode(
    [install.podManifest(name, 'reader', 'node-key', false, await install.pinnedImage('agent'))],
    'node-key',
  );
  await install.createPod(withTokenVolume(prepared!, { secret: { secretName: secret } }));
}

describe('node mode with a simulated vTPM', () => {
  it('the node agent runs on the confidential-VM node, non-root, with the vTPM socket', async () => {
    const ds = await cluster.http.expect<{
      status: { numberReady?: number; desiredNumberScheduled?: number };
      spec: {
        template: {
          spec: {
            securityContext: { runAsUser?: number };
            volumes: Array<{ name: string; hostPath?: { path: string } }>;
          };
        };
      };
    }>('GET', `/apis/apps/v1/namespaces/${SYSTEM}/daemonsets/securekey-node-agent`, [200]);
    expect(ds.status.desiredNumberScheduled).toBe(1);
    expect(ds.status.numberReady).toBe(1);
    const pod = ds.spec.template.spec;
    expect(pod.securityContext.runAsUser).toBe(65532);
    expect(pod.volumes.find((v) => v.name === 'tpm')?.hostPath?.path).toBe(cvm!.socketDir);
  });

  it('an approved pod reads its key from tmpfs and it is the vault’s key; the node agent released it', async () => {
    await install.applySecureKey(
      secureKey('node-key', 'reader', 'Delete', install.approvers, { mode: 'Node' }),
    );
    await install.readySecureKey('node-key');
    const image = await install.pinnedImage('agent');
    const [prepared] = await install.injectNodeMode(
      [install.podManifest('vault-reader', 'reader', 'node-key', false, image)],
      'node-key',
    );
    await install.createPod(prepared!);
    await install.waitPhase('vault-reader', 'Succeeded');

    const key = await install.vaultKey('node-key');
    expect(key?.versions).toHaveLength(1);
    expect(await cluster.logs(APPS, 'vault-reader', 'app')).toContain(
      `key-sha256=${key!.versions[0]!.sha256}`,
    );
    const agentLog = await cluster.logs(APPS, 'vault-reader', 'securekey-agent');
    expect(agentLog).toContain('"msg":"keys written"');
    expect(agentLog).not.toContain(key!.versions[0]!.sha256);
    // The paravisor made a report for the node agent's attestation (1 at launch).
    expect(cvm!.vtpm.reportsGenerated()).toBeGreaterThan(1);
  });

  it('pods the SecureKey does not serve are refused, the reason in their agent’s last log line', async () => {
    const image = await install.pinnedImage('agent');
    // Not approved: the same pod, never signed.
    const [unapproved] = await install.injectNodeMode(
      [install.podManifest('unapproved', 'reader', 'node-key', false, image)],
      'node-key',
      { approve: false },
    );
    // Approved, but not selected by the SecureKey (another app label).
    const [unselected] = await install.injectNodeMode(
      [install.podManifest('unselected', 'other', 'node-key', false, image)],
      'node-key',
    );
    await install.createPod(unapproved!);
    await install.createPod(unselected!);
    await install.waitPhase('unapproved', 'Failed');
    await install.waitPhase('unselected', 'Failed');

    expect(await lastAgentLine('unapproved')).toMatchObject({
      level: 'error',
      kind: 'node-refused',
      step: 'node-fetch',
      message: expect.stringMatching(
        /^the node agent refused \(HTTP 403\): SecureKey default\/node-key: pod default\/unapproved is not approved \(/,
      ),
    });
    expect(await lastAgentLine('unselected')).toMatchObject({
      level: 'error',
      kind: 'node-refused',
      message: expect.stringContaining('SecureKey default/node-key does not select pod default/unselected'),
    });
    for (const name of ['unapproved', 'unselected']) {
      const app = (await install.pod(name)).status?.containerStatuses?.find((c) => c.name === 'app');
      expect(app?.state).toHaveProperty('waiting'); // never started
    }
  });

  it('the node agent restarted while a pod starts: the pod still gets the vault’s key', async () => {
    const agents = await cluster.http.expect<{ items: Array<{ metadata: { name: string } }> }>(
      'GET',
      `/api/v1/namespaces/${SYSTEM}/pods`,
      [200],
      { query: { labelSelector: 'app.kubernetes.io/component=node-agent' } },
    );
    expect(agents.items).toHaveLength(1);
    const image = await install.pinnedImage('agent');
    const [prepared] = await install.injectNodeMode(
      [install.podManifest('after-restart', 'reader', 'node-key', false, image)],
      'node-key',
    );
    // The node agent goes (and with it every key in its memory) just as the pod is created.
    await cluster.http.expect(
      'DELETE',
      `/api/v1/namespaces/${SYSTEM}/pods/${agents.items[0]!.metadata.name}`,
      [200],
      {
        query: { gracePeriodSeconds: 0 },
      },
    );
    await install.createPod(prepared!);
    await install.waitPhase('after-restart', 'Succeeded');
    const key = await install.vaultKey('node-key');
    expect(await cluster.logs(APPS, 'after-restart', 'app')).toContain(
      `key-sha256=${key!.versions.at(-1)!.sha256}`,
    );
  });

  it('refuses tokens with another audience, for a pod of another node, or of a pod since re-created', async () => {
    const image = await install.pinnedImage('agent');
    // Another audience: the pod's own token, projected for someone else.
    const [aud] = await install.injectNodeMode(
      [install.podManifest('wrong-audience', 'reader', 'node-key', false, image)],
      'node-key',
    );
    await install.createPod(
      withTokenVolume(aud!, {
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', audience: 'api://elsewhere', expirationSeconds: 600 } },
          ],
        },
      }),
    );
    // A valid token of a pod that runs (would run) on another node.
    const elsewhere = await pendingPod('elsewhere');
    await podWithStolenToken(
      'other-node-token',
      'other-node-token',
      await boundToken('elsewhere', elsewhere.uid),
    );
    // A token of a pod that was deleted and re-created under the same name.
    const first = await pendingPod('recreated');
    const stale = await boundToken('recreated', first.uid);
    await cluster.http.expect('DELETE', `/api/v1/namespaces/${APPS}/pods/recreated`, [200], {
      query: { gracePeriodSeconds: 0 },
    });
    await eventually(
      async () =>
        (await cluster.http.request('GET', `/api/v1/namespaces/${APPS}/pods/recreated`)).status === 404,
      60_000,
      'pod recreated deleted',
    );
    await pendingPod('recreated');
    await podWithStolenToken('stale-token', 'stale-token', stale);

    for (const name of ['wrong-audience', 'other-node-token', 'stale-token'])
      await install.waitPhase(name, 'Failed');
    const refused = (line: Record<string, unknown>) => ({ kind: line['kind'], message: line['message'] });
    expect(refused(await lastAgentLine('wrong-audience'))).toEqual({
      kind: 'node-refused',
      message:
        'the node agent refused (HTTP 401): the token is not accepted: the API server does not authenticate it',
    });
    expect(refused(await lastAgentLine('other-node-token'))).toEqual({
      kind: 'node-refused',
      message: `the node agent refused (HTTP 403): pod ${APPS}/elsewhere runs on node ${ELSEWHERE}, not on ${cvm!.node}`,
    });
    expect(refused(await lastAgentLine('stale-token'))).toEqual({
      kind: 'node-refused',
      message: expect.stringMatching(/^the node agent refused \(HTTP 40[13]\): /),
    });
  });

  it('refuses a SecureKey of another namespace: the pod’s names resolve in its own', async () => {
    await cluster.http.expect('POST', '/api/v1/namespaces', [201, 409], {
      body: { metadata: { name: OTHER_NS } },
    });
    const theirs = secureKey('elsewhere-key', 'reader', 'Delete', install.approvers, { mode: 'Node' });
    (theirs['metadata'] as Obj)['namespace'] = OTHER_NS;
    await cluster.http.expect(
      'POST',
      `/apis/securekey.io/v1alpha1/namespaces/${OTHER_NS}/securekeys`,
      [201],
      {
        body: theirs,
      },
    );
    const [prepared] = await install.injectNodeMode(
      [
        install.podManifest(
          'other-namespace-key',
          'reader',
          'elsewhere-key',
          false,
          await install.pinnedImage('agent'),
        ),
      ],
      'elsewhere-key',
    );
    // The webhook refuses the pod before it exists; the node agent, which reads only the pod's namespace,
    // answers 404 for such a name too (node-server.component.test.ts).
    await expect(install.createPod(prepared!)).rejects.toThrow(
      `denied the request: annotation securekey.io/key-db: SecureKey elsewhere-key does not exist in namespace ${APPS}`,
    );
  });

  it('a key rotated with `securekey rotate`: the next pod gets the new version', async () => {
    const before = await install.vaultKey('node-key');
    expect(install.rotate('node-key')).toMatch(/^rotated: version /m);
    const after = await install.vaultKey('node-key');
    expect(after!.versions).toHaveLength(before!.versions.length + 1);
    const newest = after!.versions.at(-1)!;
    expect(newest.sha256).not.toBe(before!.versions.at(-1)!.sha256);
    // The node agent reads SecureKeys again after its cache time (5 s by default).
    await new Promise((r) => setTimeout(r, 6_000));
    const [prepared] = await install.injectNodeMode(
      [
        install.podManifest(
          'after-rotation',
          'reader',
          'node-key',
          false,
          await install.pinnedImage('agent'),
        ),
      ],
      'node-key',
    );
    await install.createPod(prepared!);
    await install.waitPhase('after-rotation', 'Succeeded');
    expect(await cluster.logs(APPS, 'after-rotation', 'app')).toContain(`key-sha256=${newest.sha256}`);
  });
});
