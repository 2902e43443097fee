import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecureKey } from '../../../core/api/securekey.generated.ts';
import { POLICY_ANNOTATIONS } from '../../../core/digest/index.ts';
import { digestsOf, NO_DIGEST, parsePolicyJson } from '../../../core/policy/index.ts';
import { policy } from '../../support/reconcile.ts';
import { MIRROR_POD_ANNOTATION } from '../../../core/workload/observed-pod.ts';
import { eventually, MAA, RUNC, startHarness, type Harness } from './harness.ts';

const ANNOTATION = POLICY_ANNOTATIONS['kata-agent-policy'];

/** Digests the vault's current version of `name` admits (read from the simulator's state, not via the operator). */
function vaultPolicyJson(h: Harness, name: string): string | undefined {
  const key = h.sandbox.vault.service.snapshot().keys[name];
  const v = key?.versions.at(-1);
  if (!v?.releasePolicy || key?.deleted) return undefined;
  return Buffer.from(v.releasePolicy.data, 'base64url').toString('utf8');
}

function vaultDigests(h: Harness, name: string): string[] | undefined {
  const json = vaultPolicyJson(h, name);
  return json === undefined ? undefined : digestsOf(parsePolicyJson(json)).digests;
}

function condition(sk: SecureKey | undefined, type: string) {
  return sk?.status?.conditions?.find((c) => c.type === type);
}

async function events(
  h: Harness,
  name: string,
  kind = 'SecureKey',
): Promise<Array<{ reason: string; message: string; type: string }>> {
  await h.events.flush();
  const list = await h.http.expect<{ items: Array<{ reason: string; message: string; type: string }> }>(
    'GET',
    `/api/v1/namespaces/${h.ns}/events`,
    [200],
    { query: { fieldSelector: `involvedObject.name=${name},involvedObject.kind=${kind}` } },
  );
  return list.items;
}

describe('operator reconcile on a real API server with the simulated Managed HSM', () => {
  let h: Harness;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    h = await startHarness('op-reconcile');
    stop = h.lead();
  });
  afterAll(async () => {
    await stop?.();
    await h?.close();
  });

  it('creates the key with the base policy and reports Ready with key id and version', async () => {
    await h.createSecureKey('base');
    const sk = await eventually(
      async () => {
        const got = await h.getSecureKey('base');
        return condition(got, 'Ready')?.status === 'True' ? got : undefined;
      },
      10_000,
      'Ready=True',
    );
    const stored = h.sandbox.vault.service.snapshot().keys['base'];
    expect(stored?.versions).toHaveLength(1);
    const version = stored!.versions[0]!;
    expect(version.kty).toBe('oct-HSM');
    expect(version.attributes.exportable).toBe(true);
    expect(sk.status?.key?.version).toBe(version.version);
    expect(sk.status?.key?.id).toBe(`${h.sandbox.vault.url}/keys/base/${version.version}`);
    expect(sk.metadata?.finalizers).toContain('securekey.io/cleanup');
    // No pods yet: the policy admits nothing but is well-formed (the sentinel digest).
    expect(vaultDigests(h, 'base')).toEqual([]);
    expect(digestsOf(parsePolicyJson(vaultPolicyJson(h, 'base')!)).unrestricted).toBe(false);
    expect(vaultPolicyJson(h, 'base')).toContain(NO_DIGEST);
    expect(sk.status?.observedGeneration).toBe(sk.metadata?.generation);
    const created = await events(h, 'base');
    expect(created.map((e) => e.reason)).toContain('KeyCreated');
  });

  it('node mode: the vault gets the confidential-VM policy, and a selected pod adds no digest', async () => {
    await h.createSecureKey('node', { mode: 'Node' });
    await eventually(async () => condition(await h.getSecureKey('node'), 'Ready')?.status === 'True');
    const pod = policy('package node');
    await h.createPod('node-a', { [ANNOTATION]: pod.annotation }, { app: 'node' });
    const policyJson = vaultPolicyJson(h, 'node')!;
    expect(JSON.parse(policyJson)).toEqual({
      version: '1.0.0',
      anyOf: [
        {
          authority: MAA,
          allOf: [
            { claim: 'x-ms-isolation-tee.x-ms-attestation-type', equals: 'sevsnpvm' },
            { claim: 'x-ms-isolation-tee.x-ms-compliance-status', equals: 'azure-compliant-cvm' },
            { claim: 'x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable', equals: 'false' },
          ],
        },
      ],
    });
    // A pod event reconciles the SecureKey again: still no digest, no pod conditions, the same policy.
    await new Promise((r) => setTimeout(r, 1_000));
    const sk = await h.getSecureKey('node');
    expect(vaultPolicyJson(h, 'node')).toBe(policyJson);
    expect(sk?.status?.conditions?.map((c) => c.type).sort()).toEqual(['KeyReady', 'PolicySynced', 'Ready']);
    expect(condition(sk, 'PolicySynced')?.message).toMatch(/^release policy admits SEV-SNP confidential VMs/);
    expect(sk?.status?.policy?.digests).toBeUndefined();
    expect(sk?.status?.policy?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('puts an opt-in pod’s digest into the vault policy within a second, and keeps it for the retention after the pod goes', async () => {
    await h.createSecureKey('roll', { digestRetention: '3s' });
    await eventually(async () => condition(await h.getSecureKey('roll'), 'Ready')?.status === 'True');
    const p1 = policy('package roll\nv1');
    const p2 = policy('package roll\nv2');

    const t0 = Date.now();
    await h.createPod('roll-a', { [ANNOTATION]: p1.annotation }, { app: 'roll' });
    await eventually(() => vaultDigests(h, 'roll')?.includes(p1.digest), 5_000, 'digest in vault');
    expect(Date.now() - t0).toBeLessThan(1000);

    await h.createPod('roll-b', { [ANNOTATION]: p2.annotation }, { app: 'roll' });
    await eventually(() => vaultDigests(h, 'roll')?.includes(p2.digest), 5_000, 'second digest');
    expect(vaultDigests(h, 'roll')).toEqual([p1.digest, p2.digest].sort());

    await h.deletePod('roll-a');
    const gone = Date.now();
    // Never before the retention: sample the vault until just short of 3 s.
    while (Date.now() - gone < 2500) {
      expect(vaultDigests(h, 'roll')).toContain(p1.digest);
      await new Promise((r) => setTimeout(r, 100));
    }
    await eventually(() => !vaultDigests(h, 'roll')?.includes(p1.digest), 5_000, 'digest retired');
    expect(Date.now() - gone).toBeGreaterThanOrEqual(3000);
    expect(vaultDigests(h, 'roll')).toEqual([p2.digest]);
    // Status is written right after the vault in the same reconcile: wait for it rather than race it.
    const sk = await eventually(
      async () => {
        const got = await h.getSecureKey('roll');
        return got?.status?.policy?.digests?.length === 1 ? got : undefined;
      },
      5_000,
      'status without the retired digest',
    );
    expect(sk.status?.policy?.digests?.map((d) => d.digest)).toEqual([p2.digest]);
    expect(sk.status?.policy?.digests?.[0]).toMatchObject({ source: 'Pod', pod: `${h.ns}/roll-b` });
  });

  it('ignores pods the selector does not pick and pods without the opt-in label', async () => {
    await h.createSecureKey('picky');
    await eventually(async () => condition(await h.getSecureKey('picky'), 'Ready')?.status === 'True');
    const other = policy('package picky\nother-app');
    await h.createPod('picky-other', { [ANNOTATION]: other.annotation }, { app: 'someone-else' });
    await h.http.expect('POST', `/api/v1/namespaces/${h.ns}/pods`, [201], {
      body: {
        metadata: {
          name: 'picky-not-opted-in',
          labels: { app: 'picky' },
          annotations: { [ANNOTATION]: other.annotation },
        },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
    });
    const mine = policy('package picky\nmine');
    await h.createPod('picky-mine', { [ANNOTATION]: mine.annotation }, { app: 'picky' });
    await eventually(() => vaultDigests(h, 'picky')?.includes(mine.digest));
    expect(vaultDigests(h, 'picky')).toEqual([mine.digest]);
  });

  it('admits no digest from pods that are unscheduled, mirror, runc, agentless, for another key or patched', async () => {
    await h.createSecureKey('guard');
    await eventually(async () => condition(await h.getSecureKey('guard'), 'Ready')?.status === 'True');
    const bad = (name: string) => policy(`package guard\n${name}`);
    const labels = { app: 'guard' };
    await h.createPod('guard-unscheduled', { [ANNOTATION]: bad('unscheduled').annotation }, labels, {
      nodeName: undefined,
    });
    await h.createPod(
      'guard-mirror',
      { [ANNOTATION]: bad('mirror').annotation, [MIRROR_POD_ANNOTATION]: 'static' },
      labels,
    );
    await h.createPod('guard-runc', { [ANNOTATION]: bad('runc').annotation }, labels, {
      runtimeClassName: RUNC,
    });
    await h.createPod('guard-no-agent', { [ANNOTATION]: bad('no-agent').annotation }, labels, {
      initContainers: [],
    });
    await h.createPod(
      'guard-other-key',
      { [ANNOTATION]: bad('other-key').annotation, 'securekey.io/key-key': 'someone-elses-key' },
      labels,
    );

    // A running pod whose policy annotation is patched: its first digest stays, the new one never comes.
    const first = policy('package guard\nas created');
    await h.createPod('guard-patched', { [ANNOTATION]: first.annotation }, labels);
    await eventually(() => vaultDigests(h, 'guard')?.includes(first.digest), 5_000, 'first digest');
    await h.http.expect('PATCH', `/api/v1/namespaces/${h.ns}/pods/guard-patched`, [200], {
      body: { metadata: { annotations: { [ANNOTATION]: bad('patched').annotation } } },
      contentType: 'application/merge-patch+json',
    });

    // The watch delivers events in order: once the proper pod's digest is in, every pod above was seen.
    const proper = policy('package guard\nproper');
    await h.createPod('guard-proper', { [ANNOTATION]: proper.annotation }, labels);
    await eventually(() => vaultDigests(h, 'guard')?.includes(proper.digest), 5_000, 'proper digest');
    expect(vaultDigests(h, 'guard')).toEqual([first.digest, proper.digest].sort());
  });

  it('reports a malformed policy annotation as an event and a condition naming the pod; other pods are unaffected', async () => {
    await h.createSecureKey('bad');
    const good = policy('package bad\ngood');
    await h.createPod('bad-good', { [ANNOTATION]: good.annotation }, { app: 'bad' });
    await h.createPod('bad-broken', { [ANNOTATION]: 'this is not base64!' }, { app: 'bad' });
    const sk = await eventually(async () => {
      const got = await h.getSecureKey('bad');
      return condition(got, 'PodsAdmitted')?.status === 'False' ? got : undefined;
    });
    const c = condition(sk, 'PodsAdmitted')!;
    expect(c.reason).toBe('InvalidPolicyAnnotation');
    expect(c.message).toContain(`${h.ns}/bad-broken`);
    expect(c.message).toContain(ANNOTATION);
    expect(condition(sk, 'Ready')?.status).toBe('True');
    await eventually(() => vaultDigests(h, 'bad')?.includes(good.digest));
    expect(vaultDigests(h, 'bad')).toEqual([good.digest]);
    const onKey = await events(h, 'bad');
    expect(onKey.find((e) => e.reason === 'InvalidPolicyAnnotation')?.message).toContain(
      `${h.ns}/bad-broken`,
    );
    const onPod = await events(h, 'bad-broken', 'Pod');
    expect(onPod.map((e) => e.reason)).toContain('InvalidPolicyAnnotation');

    // Fixing the pod (a new pod with a good policy, the broken one gone) clears the condition.
    await h.deletePod('bad-broken');
    await eventually(async () => condition(await h.getSecureKey('bad'), 'PodsAdmitted')?.status === 'True');
  });

  it('makes zero vault writes and zero status writes across many resyncs when nothing changes', async () => {
    await h.createSecureKey('steady');
    const p = policy('package steady');
    await h.createPod('steady-a', { [ANNOTATION]: p.annotation }, { app: 'steady' });
    await eventually(() => vaultDigests(h, 'steady')?.includes(p.digest));
    const settled = await eventually(async () => {
      const got = await h.getSecureKey('steady');
      return got?.status?.policy?.hash !== undefined && condition(got, 'Ready')?.status === 'True'
        ? got
        : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    const before = h.sandbox.vault.inspect();
    const rvBefore = (await h.getSecureKey('steady'))?.metadata?.resourceVersion;
    const getsBefore = before.calls['getKey']?.['200'] ?? 0;
    for (let i = 0; i < 20; i++) {
      for (const sk of h.controller.secureKeys.list())
        h.controller.queue.add(`${sk.metadata?.namespace}/${sk.metadata?.name}`);
      if (i % 5 === 0) h.controller.pods.relistNow();
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually(() => h.controller.queue.length === 0 && h.controller.queue.processing === 0);
    const after = h.sandbox.vault.inspect();
    expect(after.totalWrites).toBe(before.totalWrites);
    expect(after.calls['getKey']?.['200'] ?? 0).toBeGreaterThan(getsBefore); // it did look
    expect((await h.getSecureKey('steady'))?.metadata?.resourceVersion).toBe(rvBefore);
    expect(settled.status?.policy?.syncedAt).toBeDefined();
  });

  it('backs off on 429s and outages, recovers, and creates exactly one key version', async () => {
    h.sandbox.vault.faults.plan = {
      match: /keys\/flaky/,
      throttle: { count: 3, retryAfterSeconds: 0 },
      outage: { count: 3, status: 503 },
    };
    await h.createSecureKey('flaky');
    const sk = await eventually(
      async () => {
        const got = await h.getSecureKey('flaky');
        return condition(got, 'Ready')?.status === 'True' ? got : undefined;
      },
      15_000,
      'recovery',
    );
    h.sandbox.vault.faults.plan = {};
    expect(h.sandbox.vault.inspect().injected.throttled).toBeGreaterThanOrEqual(3);
    expect(h.sandbox.vault.service.snapshot().keys['flaky']?.versions).toHaveLength(1);
    expect(sk.status?.key?.version).toBe(
      h.sandbox.vault.service.snapshot().keys['flaky']?.versions[0]?.version,
    );
    const reasons = (await events(h, 'flaky')).map((e) => e.reason);
    expect(reasons).toContain('Throttled');
    expect(reasons).toContain('VaultUnavailable');
  });

  it('refuses an attestation authority it may not trust: the vault is never pointed at it', async () => {
    const callsBefore = JSON.stringify(h.sandbox.vault.inspect().calls);
    await h.http.expect('POST', `/apis/securekey.io/v1alpha1/namespaces/${h.ns}/securekeys`, [201], {
      body: {
        apiVersion: 'securekey.io/v1alpha1',
        kind: 'SecureKey',
        metadata: { name: 'foreign-maa' },
        spec: {
          vault: { url: h.sandbox.vault.url, type: 'ManagedHSM' },
          key: { name: 'foreign-maa', type: 'oct-HSM', size: 256 },
          attestation: { authorities: ['https://attacker.example.com'] },
          workloads: {},
        },
      },
    });
    const sk = await eventually(async () => {
      const got = await h.getSecureKey('foreign-maa');
      return condition(got, 'PolicySynced')?.message?.includes('attacker.example.com') ? got : undefined;
    });
    expect(condition(sk, 'PolicySynced')?.message).toContain(
      'spec.attestation.authorities[0] https://attacker.example.com is not an attestation service this operator may trust',
    );
    expect(condition(sk, 'Ready')?.status).toBe('False');
    expect(h.sandbox.vault.service.snapshot().keys['foreign-maa']).toBeUndefined();
    // Reads only: nothing was written to the vault.
    const writes = (calls: string) =>
      Object.entries(JSON.parse(calls) as Record<string, unknown>).filter(([op]) => !/^get|^list/.test(op));
    expect(writes(JSON.stringify(h.sandbox.vault.inspect().calls))).toEqual(writes(callsBefore));
  });

  it('never rewrites or deletes a key another SecureKey created', async () => {
    await h.createSecureKey('owner-a', { key: { name: 'shared-key', type: 'oct-HSM', size: 256 } });
    await eventually(async () => condition(await h.getSecureKey('owner-a'), 'Ready')?.status === 'True');
    const policyBefore = vaultPolicyJson(h, 'shared-key');
    await h.createSecureKey('intruder-b', {
      key: { name: 'shared-key', type: 'oct-HSM', size: 256 },
      workloads: { allowedDigests: ['ab'.repeat(32)] },
      deletionPolicy: 'Delete',
    });
    const refused = await eventually(async () => {
      const got = await h.getSecureKey('intruder-b');
      return condition(got, 'KeyReady')?.reason === 'KeyOwnedElsewhere' ? got : undefined;
    });
    const ownerUid = (await h.getSecureKey('owner-a'))?.metadata?.uid;
    expect(condition(refused, 'KeyReady')?.message).toMatch(
      new RegExp(
        `^key shared-key exists in the vault and belongs to SecureKey ${h.ns}/owner-a \\(uid ${ownerUid}, cluster [0-9a-f-]{36}\\); choose another spec.key.name$`,
      ),
    );
    expect(vaultPolicyJson(h, 'shared-key')).toBe(policyBefore);
    await h.http.expect(
      'DELETE',
      `/apis/securekey.io/v1alpha1/namespaces/${h.ns}/securekeys/intruder-b`,
      [200],
    );
    await eventually(async () => (await h.getSecureKey('intruder-b')) === undefined);
    expect(h.sandbox.vault.inspect().keys['shared-key']?.deleted).toBe(false);
    expect((await events(h, 'intruder-b')).map((e) => e.reason)).toContain('KeyNotDeleted');
  });

  it('reports a vault URL outside the allowed domains without calling anything', async () => {
    const callsBefore = JSON.stringify(h.sandbox.vault.inspect().calls);
    await h.http.expect('POST', `/apis/securekey.io/v1alpha1/namespaces/${h.ns}/securekeys`, [201], {
      body: {
        apiVersion: 'securekey.io/v1alpha1',
        kind: 'SecureKey',
        metadata: { name: 'elsewhere' },
        spec: {
          vault: { url: 'https://evil.example.com', type: 'ManagedHSM' },
          key: { name: 'elsewhere', type: 'oct-HSM', size: 256 },
          attestation: { authorities: ['https://sandbox.attest.localhost'] },
          workloads: {},
        },
      },
    });
    const sk = await eventually(async () => {
      const got = await h.getSecureKey('elsewhere');
      return condition(got, 'KeyReady')?.status === 'False' ? got : undefined;
    });
    expect(condition(sk, 'KeyReady')?.reason).toBe('VaultRejected');
    expect(condition(sk, 'KeyReady')?.message).toContain(
      'https://evil.example.com is not a vault this operator may use',
    );
    expect(JSON.stringify(h.sandbox.vault.inspect().calls)).toBe(callsBefore);
  });

  it.each([
    ['Retain', false],
    ['Delete', true],
  ] as const)(
    'deletionPolicy %s: the SecureKey goes and the vault key is %s deleted',
    async (policyName, deleted) => {
      const name = `del-${policyName.toLowerCase()}`;
      await h.createSecureKey(name, { deletionPolicy: policyName });
      await eventually(async () => condition(await h.getSecureKey(name), 'Ready')?.status === 'True');
      await h.http.expect(
        'DELETE',
        `/apis/securekey.io/v1alpha1/namespaces/${h.ns}/securekeys/${name}`,
        [200],
      );
      await eventually(async () => (await h.getSecureKey(name)) === undefined, 10_000, 'SecureKey gone');
      const stored = h.sandbox.vault.service.snapshot().keys[name];
      expect(stored).toBeDefined();
      expect(stored?.deleted !== undefined).toBe(deleted);
      const reasons = (await events(h, name)).map((e) => e.reason);
      expect(reasons).toContain(deleted ? 'KeyDeleted' : 'KeyRetained');
    },
  );
});
