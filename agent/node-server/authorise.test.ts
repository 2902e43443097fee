import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SecureKey } from '../../core/api/securekey.generated.ts';
import { APPROVAL_ANNOTATION, NODE_CONTAINERS_SCHEME, signApproval } from '../../core/approval/index.ts';
import { containerDigest } from '../../core/workload/index.ts';
import type { TokenReviewStatus } from '../../edge/kube/token-review.ts';
import { admitKey, callerOf, checkPod, NodeServerError, REFUSALS, type Caller } from './authorise.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const NOW = new Date('2026-12-07T10:00:00Z');
const ci = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
    pub: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
})();

const review = (over: Partial<TokenReviewStatus> = {}): TokenReviewStatus => ({
  authenticated: true,
  audiences: ['securekey-node'],
  user: {
    username: 'system:serviceaccount:shop:web',
    extra: {
      'authentication.kubernetes.io/pod-name': ['web-0'],
      'authentication.kubernetes.io/pod-uid': ['uid-1'],
    },
  },
  ...over,
});
const caller: Caller = { namespace: 'shop', serviceAccount: 'web', podName: 'web-0', podUid: 'uid-1' };

const spec = () => ({
  nodeName: 'cvm-1',
  serviceAccountName: 'web',
  initContainers: [{ name: 'securekey-agent', image: `reg/agent@${A}`, args: ['node', '--key=db=db-key'] }],
  containers: [{ name: 'app', image: `reg/app@${B}`, command: ['/app'] }],
});

function pod(o: { approval?: string; spec?: object; status?: object; meta?: object } = {}) {
  return {
    metadata: {
      namespace: 'shop',
      name: 'web-0',
      uid: 'uid-1',
      labels: { app: 'web', 'securekey.io/inject': 'true' },
      annotations: {
        'securekey.io/key-db': 'db-key',
        'securekey.io/agent-mode': 'node',
        ...(o.approval === undefined ? {} : { [APPROVAL_ANNOTATION]: o.approval }),
      },
      ...o.meta,
    },
    spec: { ...spec(), ...o.spec },
    status: o.status ?? {
      phase: 'Pending',
      initContainerStatuses: [{ name: 'securekey-agent', imageID: `reg/agent@${A}` }],
      containerStatuses: [{ name: 'app', imageID: '' }],
    },
  };
}

function secureKey(
  workloads: object = {},
  status: SecureKey['status'] = { key: { version: 'v1' } },
): SecureKey {
  return {
    metadata: { namespace: 'shop', name: 'db-key' },
    spec: {
      mode: 'Node',
      vault: { url: 'https://v.vault.azure.net' },
      key: { name: 'db', type: 'RSA-HSM' },
      attestation: { authorities: ['https://maa.example'] },
      workloads: {
        podSelector: { matchLabels: { app: 'web' } },
        approvers: [{ name: 'ci', publicKey: ci.pub as never }],
        ...workloads,
      },
    },
    status,
  };
}

const approval = (over: object = {}) =>
  signApproval(
    {
      namespace: 'shop',
      secureKeys: ['db-key'],
      scheme: NODE_CONTAINERS_SCHEME,
      digest: containerDigest(spec()).digest,
      iat: NOW.getTime() / 1000 - 60,
      ...over,
    },
    ci.priv,
  );

const admission = { runtimeClasses: ['runc-cvm'], noRuntimeClass: true };
async function admit(p: object, sk: SecureKey | undefined = secureKey()) {
  return admitKey(sk, 'db-key', checkPod(p, caller, 'cvm-1'), { admission, now: NOW });
}
async function refusal(p: Promise<unknown> | (() => unknown)): Promise<NodeServerError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(NodeServerError);
    return err as NodeServerError;
  }
  throw new Error('not refused');
}

describe('callerOf', () => {
  it('names the pod a bound token for securekey-node belongs to', () => {
    expect(callerOf(review())).toEqual(caller);
  });

  it.each([
    ['not authenticated', { authenticated: false }, 'the API server does not authenticate it'],
    ['another audience', { audiences: ['api'] }, 'not for audience securekey-node'],
    ['no audiences', { audiences: undefined }, 'not for audience securekey-node'],
    [
      'a user token',
      { user: { username: 'alice', extra: review().user!.extra! } },
      'not a service-account token',
    ],
    [
      'a token not bound to a pod',
      { user: { username: 'system:serviceaccount:shop:web' } },
      'not bound to a pod',
    ],
  ])('401 for %s', async (_, over, why) => {
    const err = await refusal(() => callerOf(review(over as Partial<TokenReviewStatus>)));
    expect([err.kind, err.status]).toEqual(['unauthenticated', 401]);
    expect(err.message).toContain(why);
  });
});

describe('checkPod', () => {
  it('403 for a missing pod, another uid or service account, another node, a terminating pod', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [undefined, 'pod-not-found', /pod shop\/web-0 does not exist/],
      [pod({ meta: { uid: 'uid-2' } }), 'pod-mismatch', /not the token's pod \(uid uid-2/],
      [pod({ spec: { serviceAccountName: 'admin' } }), 'pod-mismatch', /service account admin/],
      [pod({ spec: { nodeName: 'cvm-2' } }), 'other-node', /runs on node cvm-2, not on cvm-1/],
      [pod({ spec: { nodeName: undefined } }), 'other-node', /runs on node \(none\)/],
      [pod({ meta: { deletionTimestamp: '2026-12-07T09:00:00Z' } }), 'pod-terminating', /being deleted/],
    ];
    for (const [p, kind, message] of cases) {
      const err = await refusal(() => checkPod(p, caller, 'cvm-1'));
      expect([err.kind, err.status]).toEqual([kind, 403]);
      expect(err.message).toMatch(message);
    }
  });
});

describe('admitKey', () => {
  it('admits an approved pod and names the key version to release', async () => {
    expect(await admit(pod({ approval: await approval() }))).toEqual({
      vaultUrl: 'https://v.vault.azure.net',
      keyName: 'db',
      version: 'v1',
      authority: 'https://maa.example',
    });
  });

  it('404 for a SecureKey that does not exist', async () => {
    const checked = checkPod(pod(), caller, 'cvm-1');
    const err = await refusal(admitKey(undefined, 'db-key', checked, { admission, now: NOW }));
    expect([err.kind, err.status, err.message]).toEqual([
      'securekey-not-found',
      404,
      'SecureKey shop/db-key does not exist',
    ]);
  });

  it('403 for a pod the SecureKey does not select or admit, by the operator’s rules', async () => {
    const ok = await approval();
    const cases: Array<[object, SecureKey, string, RegExp]> = [
      [
        pod({ approval: ok, meta: { labels: { app: 'other', 'securekey.io/inject': 'true' } } }),
        secureKey(),
        'not-selected',
        /podSelector/,
      ],
      [
        pod({ approval: ok, meta: { labels: { app: 'web' } } }),
        secureKey(),
        'not-selected',
        /lacks the label securekey.io\/inject=true/,
      ],
      [
        pod({ approval: ok, spec: { runtimeClassName: 'kata-cc' } }),
        secureKey(),
        'pod-refused',
        /runtime class kata-cc is not one of runc-cvm, none/,
      ],
      [
        pod({ approval: ok, spec: { initContainers: [] } }),
        secureKey(),
        'pod-refused',
        /does not carry the SecureKey agent/,
      ],
      [
        pod({
          approval: ok,
          meta: { annotations: { 'securekey.io/key-db': 'other-key', [APPROVAL_ANNOTATION]: ok } },
        }),
        secureKey(),
        'pod-refused',
        /asks for no key of SecureKey db-key/,
      ],
      [
        pod({
          approval: ok,
          meta: { annotations: { 'securekey.io/key-db': 'db-key', 'kubernetes.io/config.mirror': 'x' } },
        }),
        secureKey(),
        'pod-refused',
        /mirror pod/,
      ],
    ];
    for (const [p, sk, kind, message] of cases) {
      const err = await refusal(admit(p, sk));
      expect([err.kind, err.status]).toEqual([kind, 403]);
      expect(err.message).toMatch(message);
    }
  });

  it('403 for a pod whose containers are not approved, or not what the kubelet runs', async () => {
    const cases: Array<[object, RegExp]> = [
      [pod(), /is not approved \(no-approval/],
      [pod({ approval: await approval({ digest: 'c'.repeat(64) }) }), /other-digest/],
      [pod({ approval: await approval({ scheme: 'kata-agent-policy' }) }), /other-digest/],
      [pod({ approval: await approval({ namespace: 'dev' }) }), /other-namespace/],
      [pod({ approval: await approval({ secureKeys: ['other'] }) }), /other-securekey/],
      [pod({ approval: await approval({ exp: NOW.getTime() / 1000 - 1 }) }), /expired/],
      // Approved containers, then another command: not what was approved.
      [
        pod({
          approval: await approval(),
          spec: {
            containers: [
              { name: 'app', image: `reg/app@${B}`, command: ['/bin/sh', '-c', 'cat /run/securekey/db'] },
            ],
          },
        }),
        /other-digest/,
      ],
      [
        pod({ approval: await approval(), spec: { containers: [{ name: 'app', image: 'reg/app:1' }] } }),
        /not pinned by digest/,
      ],
      [
        pod({
          approval: await approval(),
          status: { initContainerStatuses: [{ name: 'securekey-agent', imageID: `reg/agent@${B}` }] },
        }),
        /runs what its spec does not say: the kubelet reports container securekey-agent running/,
      ],
    ];
    for (const [p, message] of cases) {
      const err = await refusal(admit(p));
      expect([err.kind, err.status]).toEqual(['not-approved', 403]);
      expect(err.message).toMatch(message);
    }
  });

  it('admits an unapproved pod only when the SecureKey trusts pod creators', async () => {
    expect(await admit(pod(), secureKey({ approval: 'Observed' }))).toMatchObject({ version: 'v1' });
  });

  it('403 for a pod-mode SecureKey, whose release policy names pod digests', async () => {
    const podMode = { ...secureKey(), spec: { ...secureKey().spec, mode: 'Pod' as const } };
    const { mode: _, ...unset } = secureKey().spec;
    for (const sk of [podMode, { ...secureKey(), spec: unset }]) {
      const err = await refusal(admit(pod({ approval: await approval() }), sk));
      expect([err.kind, err.status, err.message]).toEqual([
        'not-node-mode',
        403,
        'SecureKey shop/db-key serves pod mode, not node mode (spec.mode: Node)',
      ]);
    }
  });

  it('503 for a SecureKey with no key version yet', async () => {
    const err = await refusal(admit(pod({ approval: await approval() }), secureKey({}, {})));
    expect([err.kind, err.status, err.retryAfterS]).toEqual(['securekey-not-ready', 503, 5]);
  });

  it('maps every refusal to the status the node client expects', () => {
    const final = Object.entries(REFUSALS).filter(([, r]) => [400, 401, 403, 404].includes(r.status));
    expect(final.map(([k]) => k).sort()).toEqual(
      [
        'bad-request',
        'not-approved',
        'not-node-mode',
        'not-selected',
        'other-node',
        'pod-mismatch',
        'pod-not-found',
        'pod-refused',
        'pod-terminating',
        'securekey-not-found',
        'unauthenticated',
      ].sort(),
    );
  });
});
