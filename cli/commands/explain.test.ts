import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { NODE_CONTAINERS_SCHEME, signApproval, type ApprovalClaims } from '../../core/approval/index.ts';
import { policyDigest } from '../../core/digest/index.ts';
import { containerDigest } from '../../core/workload/index.ts';
import type { KubeResponse } from '../../edge/kube/kube-http.ts';
import { allSecureKeysPath } from '../../edge/kube/secure-keys.ts';
import { main } from '../securekey.ts';
import { explainCommand, span, type Connect, type Explanation } from './explain.ts';

const NOW = new Date('2026-12-07T10:00:00Z');
const nowS = NOW.getTime() / 1000;
const hours = (n: number) => new Date(NOW.getTime() + n * 3_600_000).toISOString();

function keyPair(): { priv: Record<string, unknown>; pub: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
    pub: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
}
const ci = keyPair();
const stranger = keyPair();

const POLICY = Buffer.from('package agent_policy\ndefault CreateContainerRequest := true\n').toString(
  'base64',
);
const DIGEST = policyDigest('kata-agent-policy', { 'io.katacontainers.config.agent.policy': POLICY }).digest;

const sign = (over: Partial<ApprovalClaims> = {}, key = ci.priv) =>
  signApproval(
    {
      namespace: 'shop',
      secureKeys: ['db-key'],
      scheme: 'kata-agent-policy',
      digest: DIGEST,
      iat: nowS - 3600,
      ...over,
    },
    key,
  );

interface PodOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  approval?: string;
}

/** A pod that passes every check and asks for db-key; options change it. */
function pod(o: PodOptions = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: 'shop',
      name: 'web-0',
      uid: 'u-1',
      labels: { app: 'web', 'securekey.io/inject': 'true', ...o.labels },
      annotations: {
        'securekey.io/key-db': 'db-key',
        'io.katacontainers.config.agent.policy': POLICY,
        ...(o.approval === undefined ? {} : { 'securekey.io/approval': o.approval }),
        ...o.annotations,
      },
    },
    spec: {
      nodeName: 'node-1',
      runtimeClassName: 'kata-cc',
      initContainers: [{ name: 'securekey-agent', image: 'agent:1' }],
      containers: [{ name: 'app', image: 'app:1' }],
    },
    status: { phase: 'Running' },
  };
}

function secureKey(
  name: string,
  workloads: Partial<SecureKey['spec']['workloads']> = {},
  status: SecureKey['status'] = {},
): SecureKey {
  return {
    apiVersion: 'securekey.io/v1alpha1',
    kind: 'SecureKey',
    metadata: { name, namespace: 'shop' },
    spec: {
      vault: { url: 'https://contoso.managedhsm.azure.net' },
      key: { name, type: 'oct-HSM' },
      attestation: { authorities: ['https://sharedeus.eus.attest.azure.net'] },
      workloads: {
        podSelector: { matchLabels: { app: 'web' } },
        approvers: [{ name: 'ci', publicKey: { kty: 'EC', ...ci.pub } }],
        ...workloads,
      },
      digestRetention: '24h',
    },
    status,
  };
}

/** The Kubernetes API explain reads, answered from memory: the pod and the namespace's SecureKeys. */
function fakeKube(podObject: unknown, secureKeys: SecureKey[]): { connect: Connect; seen: unknown[] } {
  const seen: unknown[] = [];
  const answers: Record<string, KubeResponse> = {
    '/api/v1/namespaces/shop/pods/web-0':
      podObject === undefined
        ? { status: 404, body: { reason: 'NotFound' } }
        : { status: 200, body: podObject },
    [allSecureKeysPath('shop')]: { status: 200, body: { kind: 'SecureKeyList', items: secureKeys } },
  };
  const connect: Connect = (o) => {
    seen.push(o);
    return {
      request: async <T>(method: string, path: string) => {
        expect(method).toBe('GET');
        return (answers[path] ?? { status: 403, body: { message: `forbidden: ${path}` } }) as KubeResponse<T>;
      },
      close: () => {},
    };
  };
  return { connect, seen };
}

async function explain(
  podObject: unknown,
  secureKeys: SecureKey[],
  ...args: string[]
): Promise<{ code: number; out: string; err: string; json: Explanation }> {
  const kube = fakeKube(podObject, secureKeys);
  const run = async (extra: string[]) => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
    const code = await explainCommand(
      ['pod/web-0', '-n', 'shop', ...args, ...extra],
      io,
      kube.connect,
      () => NOW,
    );
    return { code, out, err };
  };
  const text = await run([]);
  const json = await run(['-o', 'json']);
  expect(json.code).toBe(text.code);
  return { ...text, json: JSON.parse(json.out) as Explanation };
}

const verdictLine = (out: string, name: string) =>
  out
    .split('Verdicts:')[1]!
    .split('\n')
    .find((l) => l.trim().startsWith(`${name} `))
    ?.trim()
    .replace(/\s+/g, ' ');

describe('securekey explain', () => {
  it('a SecureKey that does not select the pod: says why, and refuses', async () => {
    const r = await explain(pod({ labels: { app: 'shop-front' } }), [secureKey('db-key', {}, {})]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'does not select the pod: the pod’s labels do not match spec.workloads.podSelector',
    );
    expect(verdictLine(r.out, 'db-key')).toBe(
      'db-key asked for refused: not selected: the pod’s labels do not match spec.workloads.podSelector',
    );
    expect(r.json.secureKeys[0]).toMatchObject({ selected: false, released: false, digest: DIGEST });
  });

  it('a mirror pod: refused by the pod checks, even with a valid approval', async () => {
    const approval = await sign();
    const r = await explain(pod({ approval, annotations: { 'kubernetes.io/config.mirror': 'abc' } }), [
      secureKey('db-key'),
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /pod checks +refused \(mirror-pod\): a mirror pod \(static pod\) never passed admission/,
    );
    expect(r.out).toMatch(/approval +approved by ci, no expiry/);
    expect(verdictLine(r.out, 'db-key')).toBe(
      'db-key asked for refused: a mirror pod (static pod) never passed admission',
    );
  });

  it('an unapproved digest: refused, with the proposal the operator made', async () => {
    const status = {
      proposals: [{ digest: DIGEST, pod: 'shop/web-0', since: hours(-2), reason: 'no-approval' }],
    };
    const r = await explain(pod(), [secureKey('db-key', {}, status)]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`digest        ${DIGEST}`);
    expect(r.out).toMatch(
      /approval +not approved \(no-approval\): the pod carries no securekey\.io\/approval/,
    );
    expect(r.out).toMatch(/vault policy +not in status\.policy\.digests/);
    expect(r.out).toContain(`proposed since ${hours(-2)} (no-approval); approve it with securekey approve`);
    expect(verdictLine(r.out, 'db-key')).toBe(
      'db-key asked for refused: not approved: the pod carries no securekey.io/approval',
    );
    expect(r.json.secureKeys[0]!.proposal).toMatchObject({ digest: DIGEST, reason: 'no-approval' });
  });

  it('an approval by a key the SecureKey does not trust is refused', async () => {
    const r = await explain(pod({ approval: await sign({}, stranger.priv) }), [secureKey('db-key')]);
    expect(r.code).toBe(1);
    expect(r.json.secureKeys[0]!.approval).toMatchObject({ admitted: false, reason: 'unknown-signer' });
  });

  it('an approved pod in the vault policy: released, naming the approver', async () => {
    const approval = await sign({ exp: nowS + 48 * 3600 });
    const status = {
      policy: {
        digests: [
          {
            digest: DIGEST,
            source: 'Pod' as const,
            pod: 'shop/web-0',
            firstSeen: hours(-1),
            approvedBy: 'ci',
            approvalExpires: hours(48),
          },
        ],
      },
    };
    const other = secureKey('tls-key', { podSelector: { matchLabels: { app: 'tls' } } });
    const r = await explain(pod({ approval }), [secureKey('db-key', {}, status), other]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0); // tls-key refuses, but the pod does not ask for it
    expect(r.out).toMatch(/approval +approved by ci, until 2026-12-09T10:00:00\.000Z/);
    expect(r.out).toMatch(
      /vault policy +in status\.policy\.digests since 2026-12-07T09:00:00\.000Z \(Pod, pod shop\/web-0, approved by ci, approval expires 2026-12-09T10:00:00\.000Z, in 2d0h\)/,
    );
    expect(verdictLine(r.out, 'db-key')).toBe('db-key asked for would be released');
    expect(verdictLine(r.out, 'tls-key')).toMatch(/^tls-key not asked for refused: not selected/);
    expect(r.json).toMatchObject({
      released: true,
      pod: {
        namespace: 'shop',
        name: 'web-0',
        node: 'node-1',
        runtimeClass: 'kata-cc',
        secureKeys: ['db-key'],
      },
    });
    expect(r.json.secureKeys[0]!.approval).toMatchObject({
      admitted: true,
      how: 'signed',
      approver: 'ci',
      expiresAt: hours(48),
    });
  });

  it('an approval that expired: refused, saying when it ended', async () => {
    const approval = await sign({ iat: nowS - 7200, exp: nowS - 3600 });
    const r = await explain(pod({ approval }), [secureKey('db-key')]);
    expect(r.code).toBe(1);
    expect(verdictLine(r.out, 'db-key')).toBe(
      `db-key asked for refused: not approved: approval by ci expired at ${hours(-1)}`,
    );
    expect(r.json.secureKeys[0]!.approval).toMatchObject({ admitted: false, reason: 'expired' });
  });

  it('approval Observed: admitted without a signature, and says who can get the key', async () => {
    const r = await explain(pod(), [secureKey('db-key', { approval: 'Observed', approvers: [] })]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('SecureKey db-key (asked for; approval Observed; scheme kata-agent-policy)');
    expect(r.out).toContain(
      'not needed (approval Observed): the digest is admitted without approval, so every pod creator of namespace shop can get the key',
    );
    expect(verdictLine(r.out, 'db-key')).toMatch(
      /^db-key asked for would be released once the operator writes/,
    );
  });

  it('a digest listed in allowedDigests is released whatever the pod', async () => {
    const r = await explain(pod({ labels: { app: 'other' } }), [
      secureKey('db-key', { allowedDigests: [DIGEST] }),
    ]);
    expect(r.code).toBe(0);
    expect(verdictLine(r.out, 'db-key')).toBe(
      'db-key asked for would be released (the digest is in spec.workloads.allowedDigests)',
    );
  });

  it('a retained digest: shows the retention left, and releases while it lasts', async () => {
    const retained = (lastSeen: string) => ({
      policy: {
        digests: [
          {
            digest: DIGEST,
            source: 'Pod' as const,
            pod: 'shop/web-1',
            firstSeen: hours(-30),
            lastSeen,
            approvedBy: 'ci',
          },
        ],
      },
    });
    // The pod itself is unapproved; its digest is still in the vault policy for 4 more hours.
    const r = await explain(pod(), [secureKey('db-key', {}, retained(hours(-20)))]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/retention +last pod gone at 2026-12-06T14:00:00\.000Z; 4h0m left/);
    expect(verdictLine(r.out, 'db-key')).toBe(
      'db-key asked for would be released: the digest is in the vault policy (retained for 4h0m), though this pod would not admit it (not approved: the pod carries no securekey.io/approval)',
    );
    expect(r.json.secureKeys[0]!.vaultPolicy).toMatchObject({ retentionLeftSeconds: 4 * 3600, live: true });

    const gone = await explain(pod(), [secureKey('db-key', {}, retained(hours(-25)))]);
    expect(gone.code).toBe(1);
    expect(gone.out).toMatch(/retention +last pod gone at .*; ran out 1h0m ago/);
    expect(verdictLine(gone.out, 'db-key')).toMatch(/^db-key asked for refused: not approved/);
  });

  it('a SecureKey the pod asks for that does not exist', async () => {
    const r = await explain(pod({ annotations: { 'securekey.io/key-tls': 'tls-key' } }), [
      secureKey('db-key', { approval: 'Observed' }),
    ]);
    expect(r.code).toBe(1);
    expect(verdictLine(r.out, 'tls-key')).toBe(
      'tls-key asked for refused: namespace shop has no SecureKey tls-key',
    );
    expect(verdictLine(r.out, 'db-key')).toMatch(/would be released/);
  });

  it('judges runtime classes with the flags given', async () => {
    const nonConfidential = pod();
    (nonConfidential['spec'] as Record<string, unknown>)['runtimeClassName'] = 'runc';
    const sks = [secureKey('db-key', { approval: 'Observed' })];
    const refused = await explain(nonConfidential, sks);
    expect(refused.out).toMatch(/runtime class runc is not one of kata-cc-isolation, kata-cc, kata-qemu-snp/);
    expect(refused.out).toContain("the operator's configured set may differ");
    const allowed = await explain(nonConfidential, sks, '--allowed-runtime-classes', 'runc,kata');
    expect(allowed.code).toBe(0);
    expect(allowed.json.admission).toEqual({ runtimeClasses: ['runc', 'kata'], noRuntimeClass: false });
  });

  it('reads through the kubeconfig and context given; a missing pod is an error', async () => {
    const kube = fakeKube(undefined, []);
    let err = '';
    const io = { out: () => {}, err: (t: string) => void (err += t) };
    const args = ['pod/web-0', '-n', 'shop', '--kubeconfig', '/k/config', '--context', 'prod'];
    expect(await explainCommand(args, io, kube.connect, () => NOW)).toBe(1);
    expect(kube.seen).toEqual([{ kubeconfig: '/k/config', context: 'prod' }]);
    expect(err).toBe('securekey explain: no pod web-0 in namespace shop\n');
  });

  it('explains usage mistakes', async () => {
    const run = async (...argv: string[]) => {
      let err = '';
      const code = await main(argv, { out: () => {}, err: (t) => void (err += t) });
      return { code, err };
    };
    expect(await run('explain', 'pod/web-0')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/needs -n/),
    });
    expect((await run('explain', 'deployment/web', '-n', 'shop')).err).toMatch(/takes a pod as pod\/<name>/);
    expect((await run('explain', '-n', 'shop')).err).toMatch(/needs the pod/);
  });

  it('writes spans as a person reads them', () => {
    expect([span(4 * 3_600_000), span(90_000), span(42_000), span(3 * 86_400_000 + 3_600_000)]).toEqual([
      '4h0m',
      '1m30s',
      '42s',
      '3d1h',
    ]);
  });

  it('a node-mode SecureKey: answers as the node agent would, by the container digest and its approval', async () => {
    const A = `sha256:${'a'.repeat(64)}`;
    const B = `sha256:${'b'.repeat(64)}`;
    const nodePod = (approval?: string, appImage = `reg/app@${B}`) => {
      const p = pod(approval === undefined ? {} : { approval }) as { spec: Record<string, unknown> };
      p.spec = {
        nodeName: 'cvm-1',
        initContainers: [
          { name: 'securekey-agent', image: `reg/agent@${A}`, args: ['node', '--key=db=db-key'] },
        ],
        containers: [{ name: 'app', image: appImage, command: ['/app'] }],
      };
      return p;
    };
    const digest = containerDigest(nodePod().spec).digest;
    const nodeKey = (status: SecureKey['status'] = { key: { version: 'v7' } }) => {
      const sk = secureKey('db-key', {}, status);
      sk.spec.mode = 'Node';
      return sk;
    };
    const approval = await sign({ scheme: NODE_CONTAINERS_SCHEME, digest });

    const served = await explain(nodePod(approval), [nodeKey()]);
    expect(served.err).toBe('');
    expect(served.code).toBe(0);
    expect(served.out).toContain(
      'SecureKey db-key (asked for; approval Signed; node mode: the node agent decides)',
    );
    expect(served.out).toMatch(new RegExp(`container digest +${digest}`));
    expect(served.out).not.toContain('vault policy');
    expect(verdictLine(served.out, 'db-key')).toBe(
      'db-key asked for would be served by the node agent of node cvm-1 (key version v7)',
    );
    expect(served.json.secureKeys[0]).toMatchObject({ mode: 'Node', scheme: NODE_CONTAINERS_SCHEME, digest });

    const unapproved = await explain(nodePod(), [nodeKey()]);
    expect(unapproved.code).toBe(1);
    expect(verdictLine(unapproved.out, 'db-key')).toMatch(
      /^db-key asked for refused by the node agent: SecureKey shop\/db-key: pod shop\/web-0 is not approved \(no-approval/,
    );

    const unpinned = await explain(nodePod(approval, 'reg/app:latest'), [nodeKey()]);
    expect(unpinned.code).toBe(1);
    expect(unpinned.out).toMatch(
      /container digest +none: .*not pinned by digest|container digest +none: .*digest/,
    );
    expect(verdictLine(unpinned.out, 'db-key')).toMatch(/refused by the node agent: .*cannot be approved/);

    const notReady = await explain(nodePod(approval), [nodeKey({})]);
    expect(verdictLine(notReady.out, 'db-key')).toBe(
      'db-key asked for refused by the node agent: SecureKey shop/db-key has no key version yet',
    );
  });
});
