/**
 * The node agent's world in tests: a stand-in Kubernetes API answering what the node agent asks
 * (TokenReview as the API server answers it, pods and SecureKeys by name) from memory, node-mode pods
 * with their bound tokens and approvals, and a serving certificate from a throwaway CA.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SecureKey } from '../../../core/api/securekey.generated.ts';
import { APPROVAL_ANNOTATION, NODE_CONTAINERS_SCHEME, signApproval } from '../../../core/approval/index.ts';
import { containerDigest } from '../../../core/workload/index.ts';
import { KubeHttp } from '../../../edge/kube/kube-http.ts';
import { createSimulatorCa } from '../../../sim/common/tls.ts';

export const NODE = 'cvm-1';
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

/** A node-mode pod's containers, images pinned; `command` is the app's. */
export const nodePodSpec = (command = ['/app']) => ({
  nodeName: NODE,
  serviceAccountName: 'web',
  initContainers: [{ name: 'securekey-agent', image: `reg/agent@${A}`, args: ['node'] }],
  containers: [{ name: 'app', image: `reg/app@${B}`, command }],
});

export interface PodOptions {
  namespace?: string;
  /** SecureKey names (each also the alias). */
  keys?: string[];
  node?: string;
  uid?: string;
  /** The uid the token is bound to, when not the pod's. */
  tokenUid?: string;
  audiences?: string[];
  approved?: boolean;
  spec?: ReturnType<typeof nodePodSpec>;
}

export interface NodeWorld {
  dir: string;
  write(name: string, text: string): string;
  caPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Writes a certificate of a new CA over certFile/keyFile; returns the new CA's file. */
  renewCertificate(): string;
  /** Puts back the first certificate. */
  restoreCertificate(): void;
  kubeUrl: string;
  /** A client of the stand-in API server, as the node agent would have. */
  kube: KubeHttp;
  /** A kubeconfig file naming the stand-in API server. */
  kubeconfig: string;
  /** Every call the stand-in API server answered: `METHOD /path`. */
  apiCalls: string[];
  secureKeys: Map<string, SecureKey>;
  /** A pod of this node asking for `keys`, with an approval by the world's approver; its token file. */
  addPod(name: string, o?: PodOptions): Promise<string>;
  /** A SecureKey whose approver is the world's. */
  secureKey(
    namespace: string,
    name: string,
    o?: { version?: string; vaultUrl?: string; keyName?: string; authority?: string },
  ): SecureKey;
  close(): Promise<void>;
}

export async function startNodeWorld(): Promise<NodeWorld> {
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-node-world-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const ca = createSimulatorCa('node agent CA');
  const leaf = ca.issue({ commonName: 'localhost', dns: ['localhost'], ip: ['127.0.0.1'] });
  const certFile = write('tls.crt', leaf.chainPem);
  const keyFile = write('tls.key', leaf.keyPem);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const approver = {
    priv: privateKey.export({ format: 'jwk' }) as Record<string, unknown>,
    pub: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };

  const tokens = new Map<string, { namespace: string; pod: string; uid: string; audiences: string[] }>();
  const pods = new Map<string, Record<string, unknown>>();
  const secureKeys = new Map<string, SecureKey>();
  const apiCalls: string[] = [];

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
    const url = new URL(req.url!, 'http://kube');
    apiCalls.push(`${req.method} ${url.pathname}`);
    const json = (status: number, o: unknown) =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    const notFound = () => json(404, { kind: 'Status', reason: 'NotFound', code: 404 });
    if (req.method === 'POST' && url.pathname === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const { spec } = JSON.parse(body) as { spec: { token: string; audiences: string[] } };
      const t = tokens.get(spec.token);
      const audiences = (t?.audiences ?? []).filter((a) => spec.audiences.includes(a));
      // As the API server: a token valid for none of the audiences asked is not authenticated.
      if (!t || audiences.length === 0) {
        return json(201, {
          kind: 'TokenReview',
          status: { authenticated: false, error: 'invalid bearer token' },
        });
      }
      return json(201, {
        kind: 'TokenReview',
        status: {
          authenticated: true,
          audiences,
          user: {
            username: `system:serviceaccount:${t.namespace}:web`,
            extra: {
              'authentication.kubernetes.io/pod-name': [t.pod],
              'authentication.kubernetes.io/pod-uid': [t.uid],
            },
          },
        },
      });
    }
    const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && pod) {
      const p = pods.get(`${pod[1]}/${pod[2]}`);
      return p ? json(200, p) : notFound();
    }
    const sk = /^\/apis\/securekey\.io\/v1alpha1\/namespaces\/([^/]+)\/securekeys\/([^/]+)$/.exec(
      url.pathname,
    );
    if (req.method === 'GET' && sk) {
      const s = secureKeys.get(`${sk[1]}/${sk[2]}`);
      return s ? json(200, s) : notFound();
    }
    json(403, { kind: 'Status', reason: 'Forbidden', message: `not allowed: ${req.method} ${url.pathname}` });
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => answer(req, res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kubeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kube = new KubeHttp({
    server: kubeUrl,
    tls: {},
    authorization: () => Promise.resolve('Bearer node-agent'),
    source: 'test',
  });
  const kubeconfig = write(
    'kubeconfig',
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server: kubeUrl } }],
      users: [{ name: 'node-agent', user: { token: 'node-agent' } }],
      contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'node-agent' } }],
      'current-context': 'stand-in',
    }),
  );

  const approvalFor = (namespace: string, keys: string[], spec: ReturnType<typeof nodePodSpec>) =>
    signApproval(
      {
        namespace,
        secureKeys: keys,
        scheme: NODE_CONTAINERS_SCHEME,
        digest: containerDigest(spec).digest,
        iat: Math.floor(Date.now() / 1000) - 60,
      },
      approver.priv,
    );

  return {
    dir,
    write,
    caPem: ca.certPem,
    caFile: write('ca.pem', ca.certPem),
    certFile,
    keyFile,
    renewCertificate() {
      const next = createSimulatorCa('renewed node agent CA');
      const renewed = next.issue({ commonName: 'localhost', ip: ['127.0.0.1'] });
      writeFileSync(keyFile, renewed.keyPem);
      writeFileSync(certFile, renewed.chainPem);
      return write('next-ca.pem', next.certPem);
    },
    restoreCertificate() {
      writeFileSync(keyFile, leaf.keyPem);
      writeFileSync(certFile, leaf.chainPem);
    },
    kubeUrl,
    kube,
    kubeconfig,
    apiCalls,
    secureKeys,
    async addPod(name, o = {}) {
      const namespace = o.namespace ?? 'shop';
      const keys = o.keys ?? ['db-key'];
      const uid = o.uid ?? `uid-${name}`;
      const spec = { ...(o.spec ?? nodePodSpec()), nodeName: o.node ?? NODE };
      pods.set(`${namespace}/${name}`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          namespace,
          name,
          uid,
          labels: { app: 'web', 'securekey.io/inject': 'true' },
          annotations: {
            'securekey.io/agent-mode': 'node',
            ...Object.fromEntries(keys.map((k) => [`securekey.io/key-${k}`, k])),
            ...(o.approved === false
              ? {}
              : { [APPROVAL_ANNOTATION]: await approvalFor(namespace, keys, nodePodSpec()) }),
          },
        },
        spec,
        status: {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'securekey-agent', imageID: `reg/agent@${A}` }],
          containerStatuses: [{ name: 'app', imageID: '' }],
        },
      });
      const token = `token-${name}-${Math.random().toString(36).slice(2)}`;
      tokens.set(token, {
        namespace,
        pod: name,
        uid: o.tokenUid ?? uid,
        audiences: o.audiences ?? ['securekey-node'],
      });
      return write(`token-${name}`, token);
    },
    secureKey(namespace, name, o = {}) {
      return {
        apiVersion: 'securekey.io/v1alpha1',
        kind: 'SecureKey',
        metadata: { namespace, name },
        spec: {
          mode: 'Node',
          vault: { url: o.vaultUrl ?? 'https://contoso.vault.azure.net' },
          key: { name: o.keyName ?? `${namespace}-${name}`, type: 'oct-HSM' },
          attestation: { authorities: [o.authority ?? 'https://contoso.attest.azure.net'] },
          workloads: {
            podSelector: { matchLabels: { app: 'web' } },
            approvers: [{ name: 'ci', publicKey: approver.pub as never }],
          },
        },
        status: { key: { version: o.version ?? 'v1' } },
      };
    },
    async close() {
      kube.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
