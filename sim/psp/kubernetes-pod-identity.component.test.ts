/**
 * The real resolver through edge/kube, against a stand-in API server that answers TokenReview and
 * GET pod the way kube-apiserver does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { KubernetesPodIdentityResolver, PspError, type PspErrorKind } from './index.ts';

const AUDIENCE = 'securekey-psp';

interface Pod {
  uid: string;
  serviceAccount: string;
  annotations: Record<string, string>;
}

/** token → TokenReview status; pods by namespace/name. */
const reviews: Record<string, object> = {
  good: user('apps', 'runner', 'web-0', 'uid-1'),
  stale: user('apps', 'runner', 'web-0', 'uid-0'),
  missing: user('apps', 'runner', 'ghost-0', 'uid-9'),
  'other-sa': user('apps', 'intruder', 'web-0', 'uid-1'),
  unbound: {
    authenticated: true,
    audiences: [AUDIENCE],
    user: { username: 'system:serviceaccount:apps:runner' },
  },
  human: { authenticated: true, audiences: [AUDIENCE], user: { username: 'alice' } },
  // Valid for the API server's own audience only (no audiences in the answer): not a PSP token.
  'api-audience': (({ audiences: _a, ...rest }) => rest)(
    user('apps', 'runner', 'web-0', 'uid-1') as { audiences: unknown },
  ),
};
const pods: Record<string, Pod> = {
  'apps/web-0': {
    uid: 'uid-1',
    serviceAccount: 'runner',
    annotations: { 'io.katacontainers.config.agent.policy': 'cA==' },
  },
};
const seenAudiences: string[][] = [];
const seenAuthorization: Array<string | undefined> = [];
let tokenReviewFails = false;

function user(namespace: string, sa: string, pod: string, uid: string): object {
  return {
    authenticated: true,
    audiences: [AUDIENCE],
    user: {
      username: `system:serviceaccount:${namespace}:${sa}`,
      uid: 'sa-uid',
      groups: ['system:serviceaccounts'],
      extra: {
        'authentication.kubernetes.io/pod-name': [pod],
        'authentication.kubernetes.io/pod-uid': [uid],
      },
    },
  };
}

function send(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const apiServer = http.createServer((req, res) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => {
    seenAuthorization.push(req.headers.authorization);
    if (req.method === 'POST' && req.url?.startsWith('/apis/authentication.k8s.io/v1/tokenreviews')) {
      if (tokenReviewFails) return send(res, 500, { kind: 'Status', status: 'Failure', code: 500 });
      const review = JSON.parse(text) as { spec: { token: string; audiences: string[] } };
      seenAudiences.push(review.spec.audiences);
      const status = reviews[review.spec.token] ?? { authenticated: false, error: 'invalid bearer token' };
      return send(res, 201, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: review.spec,
        status,
      });
    }
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/?]+)/.exec(req.url ?? '');
    if (req.method === 'GET' && m) {
      const pod = pods[`${m[1]}/${m[2]}`];
      if (!pod) return send(res, 404, { kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
      return send(res, 200, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: m[2], namespace: m[1], uid: pod.uid, annotations: pod.annotations },
        spec: { serviceAccountName: pod.serviceAccount, containers: [{ name: 'app', image: 'app' }] },
      });
    }
    send(res, 404, { kind: 'Status', code: 404 });
  });
});

let resolver: KubernetesPodIdentityResolver;
beforeAll(async () => {
  await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve));
  const http = new KubeHttp({
    server: `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`,
    tls: {},
    authorization: async () => 'Bearer psp-service-account-token',
    source: 'test',
  });
  resolver = new KubernetesPodIdentityResolver({ http, audience: AUDIENCE });
});
afterAll(() => new Promise<void>((resolve) => apiServer.close(() => resolve())));

async function refusal(token: string): Promise<PspErrorKind | undefined> {
  try {
    await resolver.resolve(token);
  } catch (err) {
    if (err instanceof PspError) return err.kind;
    throw err;
  }
  return undefined;
}

describe('KubernetesPodIdentityResolver', () => {
  it('resolves a pod-bound token to its pod and annotations, asking for the PSP audience', async () => {
    const identity = await resolver.resolve('good');
    expect(identity).toEqual({
      namespace: 'apps',
      podName: 'web-0',
      podUid: 'uid-1',
      serviceAccount: 'runner',
      annotations: { 'io.katacontainers.config.agent.policy': 'cA==' },
    });
    expect(seenAudiences.at(-1)).toEqual([AUDIENCE]);
    // Both calls (TokenReview, GET pod) carry the PSP's own credentials, not the pod's token.
    expect(seenAuthorization.slice(-2)).toEqual(Array(2).fill('Bearer psp-service-account-token'));
  });

  it('refuses what the API server refuses, unbound tokens and non-service-account users', async () => {
    expect(await refusal('forged')).toBe('unauthenticated');
    expect(await refusal('unbound')).toBe('unauthenticated');
    expect(await refusal('human')).toBe('unauthenticated');
    expect(await refusal('api-audience')).toBe('unauthenticated');
  });

  it('refuses a token whose pod is gone, was replaced, or runs as another service account', async () => {
    expect(await refusal('missing')).toBe('pod-gone');
    expect(await refusal('stale')).toBe('pod-gone');
    expect(await refusal('other-sa')).toBe('service-account-mismatch');
  });

  it('reports an API server failure as unavailable', async () => {
    tokenReviewFails = true;
    try {
      expect(await refusal('good')).toBe('unavailable');
    } finally {
      tokenReviewFails = false;
    }
  });
});
