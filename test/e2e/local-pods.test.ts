/**
 * The agent image in real pods on the local cluster (real kubelet, containerd, runc, tmpfs): an admitted
 * pod's init container writes the vault's key to /run/securekey and the application container reads it;
 * a pod whose policy is not admitted never starts its application. The Azure and SEV-SNP side is the
 * agent's test world (sandbox in this process, SIMULATORS); the pods use the host network so the
 * simulators' *.localhost names reach it. Run with `npm run test:e2e` (root; see test/e2e/README.md).
 */
import crypto from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentWorld, type AgentWorld } from '../support/agent/world.ts';
import { AGENT_OPTIONS, flagArg, keyFileAccess } from '../../core/inject/index.ts';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { startControlPlane, type ControlPlane } from '../../scripts/cluster/control-plane.ts';
import { buildImages } from '../../scripts/cluster/images.ts';
import { buildPauseImage, startNode, type ClusterNode } from '../../scripts/cluster/node.ts';
import { clusterEventually as eventually } from '../../scripts/cluster/eventually.ts';

const NS = 'default';
let plane: ControlPlane;
let node: ClusterNode;
let http: KubeHttp;
let world: AgentWorld;
let agentImage = '';
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'securekey-e2e-'));
  plane = await startControlPlane();
  const pause = buildPauseImage(dir);
  const built = buildImages(['agent']).agent;
  agentImage = built.ref;
  node = await startNode({ plane, dir, images: [pause.archive, built.archive], pauseImage: pause.ref });
  http = KubeHttp.fromFile(plane.kubeconfigPath);
  await eventually(
    async () =>
      (await http.request('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`)).status === 200,
    60_000,
    'the default service account',
  );
  world = await startAgentWorld();
}, 600_000);

afterAll(async () => {
  http?.close();
  await world?.close();
  await node?.stop();
  await plane?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A Secret holding what the sandbox gave this pod: its PSP token, the agent's Entra token, the CA. */
async function secretFor(name: string, pspTokenFile: string): Promise<void> {
  const env = world.env();
  const data = {
    'psp-token': readFileSync(pspTokenFile),
    'agent-token': readFileSync(env['AZURE_FEDERATED_TOKEN_FILE']!),
    'ca.pem': readFileSync(world.sb.caFile),
  };
  await http.expect('POST', `/api/v1/namespaces/${NS}/secrets`, [201], {
    body: {
      metadata: { name },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
    },
  });
}

function agentEnv(): Array<{ name: string; value: string }> {
  const env = world.env({
    PATH: undefined,
    SECUREKEY_OUTPUT_DIR: '/run/securekey',
    SECUREKEY_KEYS: 'db=oct-key',
    SECUREKEY_PSP_TOKEN_FILE: '/var/run/securekey-e2e/psp-token',
    AZURE_FEDERATED_TOKEN_FILE: '/var/run/securekey-e2e/agent-token',
    SECUREKEY_CA_FILE: '/var/run/securekey-e2e/ca.pem',
    SECUREKEY_RELEASE_TRUST_ROOTS: '/var/run/securekey-e2e/ca.pem',
    // In a pod the keys volume is tmpfs: the agent checks it as in production.
    SECUREKEY_ALLOW_DISK_OUTPUT: undefined,
  });
  return Object.entries(env).map(([name, value]) => ({ name, value }));
}

/** The application: prints only the SHA-256 of the key it read (never its bytes), for the spec to compare. */
const READER =
  "const b=require('node:fs').readFileSync('/run/securekey/db');" +
  "console.log('key-sha256='+require('node:crypto').createHash('sha256').update(b).digest('hex'))";

interface PodShape {
  /** The agent's arguments (default `init`). */
  agentArgs?: string[];
  /** Extra fields on the agent container (e.g. a native sidecar's restartPolicy and startupProbe). */
  agent?: Record<string, unknown>;
  /** The application's command (default: print the key's sha256 once). */
  app?: string;
  /** The application container's and the pod's securityContext. */
  appSecurityContext?: Record<string, unknown>;
  podSecurityContext?: Record<string, unknown>;
  restartPolicy?: string;
}

async function runPod(name: string, secret: string, shape: PodShape = {}): Promise<void> {
  await http.expect('POST', `/api/v1/namespaces/${NS}/pods`, [201], {
    body: {
      metadata: { name },
      spec: {
        nodeName: node.name,
        hostNetwork: true,
        restartPolicy: shape.restartPolicy ?? 'Never',
        automountServiceAccountToken: false,
        ...(shape.podSecurityContext ? { securityContext: shape.podSecurityContext } : {}),
        initContainers: [
          {
            name: 'securekey-agent',
            image: agentImage,
            imagePullPolicy: 'Never',
            args: shape.agentArgs ?? ['init'],
            env: agentEnv(),
            ...shape.agent,
            volumeMounts: [
              { name: 'keys', mountPath: '/run/securekey' },
              { name: 'sandbox', mountPath: '/var/run/securekey-e2e', readOnly: true },
            ],
          },
        ],
        containers: [
          {
            name: 'app',
            image: agentImage,
            imagePullPolicy: 'Never',
            command: ['/usr/local/bin/node', '-e', shape.app ?? READER],
            ...(shape.appSecurityContext ? { securityContext: shape.appSecurityContext } : {}),
            volumeMounts: [{ name: 'keys', mountPath: '/run/securekey', readOnly: true }],
          },
        ],
        volumes: [
          { name: 'keys', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
          { name: 'sandbox', secret: { secretName: secret, defaultMode: 0o444 } },
        ],
      },
    },
  });
}

async function phase(name: string): Promise<string | undefined> {
  const pod = await http.expect<{ status?: { phase?: string } }>(
    'GET',
    `/api/v1/namespaces/${NS}/pods/${name}`,
    [200],
  );
  return pod.status?.phase;
}

/**
 * kubelet's own log files (the API server cannot proxy to this kubelet: no client certificate for it),
 * found by the pod's UID — /var/log/pods outlives earlier runs.
 */
async function containerLog(pod: string, container: string): Promise<string> {
  const { metadata } = await http.expect<{ metadata: { uid: string } }>(
    'GET',
    `/api/v1/namespaces/${NS}/pods/${pod}`,
    [200],
  );
  const file = path.join('/var/log/pods', `${NS}_${pod}_${metadata.uid}`, container, '0.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/**
 * Logs the key's SHA-256 (never its bytes) whenever it changes, forever: what an application that reloads
 * its key does. A failed read logs only the errno code.
 */
const WATCHER =
  "const fs=require('node:fs'),c=require('node:crypto');let last='';" +
  "setInterval(()=>{try{const h=c.createHash('sha256').update(fs.readFileSync('/run/securekey/db')).digest('hex');" +
  "if(h!==last){last=h;console.log('key-sha256='+h)}}catch(e){console.log('read failed: '+e.code)}},200)";

describe('agent image in real pods (local cluster)', () => {
  it('an admitted pod: the agent writes the key to tmpfs and the application reads exactly the vault’s key', async () => {
    await secretFor('db-sandbox', world.admittedTokenFile);
    await runPod('db', 'db-sandbox');
    await eventually(
      async () => ((await phase('db')) === 'Succeeded' ? true : undefined),
      120_000,
      'pod db Succeeded',
    );
    const expected = crypto.createHash('sha256').update(world.material.oct.export()).digest('hex');
    expect(await containerLog('db', 'app')).toContain(`key-sha256=${expected}`);
    const agentLog = await containerLog('db', 'securekey-agent');
    expect(agentLog).toContain('"msg":"ready"');
    expect(agentLog).not.toContain(world.material.oct.export().toString('base64'));
  }, 180_000);

  it('an application running as another uid (1000) reads its key through the pod’s fsGroup', async () => {
    const podSecurityContext = { fsGroup: 2000 };
    const appSecurityContext = { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true };
    // The agent as the injector configures it for this pod (core/inject/key-file-access.ts), no capability.
    const access = keyFileAccess({ securityContext: podSecurityContext }, [
      { name: 'app', securityContext: appSecurityContext },
    ]);
    expect(access).toEqual({ mode: '0440', runAsGroup: 2000 });
    await secretFor('other-uid-sandbox', world.admittedTokenFile);
    await runPod('other-uid', 'other-uid-sandbox', {
      agentArgs: ['init', flagArg(AGENT_OPTIONS.fileMode, access.mode)],
      agent: {
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsGroup: access.runAsGroup,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
      podSecurityContext,
      appSecurityContext,
      app:
        "const fs=require('node:fs'),s=fs.statSync('/run/securekey/db');" +
        "console.log('reader uid='+process.getuid()+' file uid='+s.uid+' gid='+s.gid+' mode='+(s.mode&0o777).toString(8));" +
        READER,
    });
    await eventually(
      async () => ((await phase('other-uid')) === 'Succeeded' ? true : undefined),
      120_000,
      'pod other-uid Succeeded',
    );
    const expected = crypto.createHash('sha256').update(world.material.oct.export()).digest('hex');
    const appLog = await containerLog('other-uid', 'app');
    expect(appLog).toContain('reader uid=1000 file uid=65532 gid=2000 mode=440');
    expect(appLog).toContain(`key-sha256=${expected}`);
  }, 180_000);

  it('a pod whose policy is not admitted: the agent fails naming the digest, the application never starts', async () => {
    const policy = Buffer.from(
      'package agent_policy\ndefault allow := false # not the admitted policy',
    ).toString('base64');
    const token = world.addPod('intruder', policy);
    await secretFor('intruder-sandbox', token);
    await runPod('intruder', 'intruder-sandbox');
    await eventually(
      async () => ((await phase('intruder')) === 'Failed' ? true : undefined),
      120_000,
      'pod intruder Failed',
    );
    const digest = crypto.createHash('sha256').update(Buffer.from(policy, 'base64')).digest('hex');
    const agentLog = await containerLog('intruder', 'securekey-agent');
    expect(agentLog).toContain(digest);
    expect(agentLog).toContain('not admitted');
    expect(await containerLog('intruder', 'app')).toBe('');
  }, 180_000);

  it('sidecar mode: a rotated key reaches the running application without a restart', async () => {
    await secretFor('rotating-sandbox', world.admittedTokenFile);
    await runPod('rotating', 'rotating-sandbox', {
      agentArgs: ['sidecar', '--refresh', '1s'],
      agent: {
        restartPolicy: 'Always',
        startupProbe: { httpGet: { path: '/ready', port: 9797 }, periodSeconds: 1, failureThreshold: 120 },
      },
      app: WATCHER,
      restartPolicy: 'Always',
    });
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    const first = sha(world.material.oct.export());
    await eventually(
      async () => (await containerLog('rotating', 'app')).includes(`key-sha256=${first}`),
      120_000,
      'first key read',
    );

    const next = crypto.randomBytes(32);
    const policy = world.releasePolicy;
    await world.officer.importKey('oct-key', { kty: 'oct-HSM', k: next } as never, {
      hardwareProtected: true,
      exportable: true,
      releasePolicy: { encodedPolicy: Buffer.from(policy) },
    });
    await eventually(
      async () => (await containerLog('rotating', 'app')).includes(`key-sha256=${sha(next)}`),
      60_000,
      'rotated key read',
    );
    const pod = await http.expect<{
      status: { containerStatuses: Array<{ name: string; restartCount: number }> };
    }>('GET', `/api/v1/namespaces/${NS}/pods/rotating`, [200]);
    expect(pod.status.containerStatuses.find((c) => c.name === 'app')?.restartCount).toBe(0);
    expect(await containerLog('rotating', 'app')).not.toContain('read failed');
  }, 240_000);
});
