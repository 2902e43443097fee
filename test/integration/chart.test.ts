/**
 * The Helm chart: `helm lint`, values validated by values.schema.json, the simulators refused without
 * the acknowledgement, and every rendered object accepted by the real API server (server-side dry run)
 * for the default values and each option; the operator's pod passes Pod Security `restricted`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { ensureBinaries } from '../../scripts/cluster/binaries.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

const CHART = path.join(repoRoot, 'charts/securekey');
const NS = 'securekey-chart';
const ACK = 'I understand these are simulators and protect nothing';

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
};

let helmBin = '';
function helm(...args: string[]): { code: number; out: string } {
  try {
    return {
      code: 0,
      out: execFileSync(helmBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `helm template` in the test namespace; the exit code and output, refusals included. */
function renderRaw(...sets: string[]): { code: number; out: string } {
  return helm(
    'template',
    'sk',
    CHART,
    '-n',
    NS,
    '--kube-version',
    '1.36.3',
    ...sets.flatMap((s) => ['--set', s]),
  );
}

function render(...sets: string[]): Doc[] {
  const r = renderRaw(...sets);
  if (r.code !== 0) throw new Error(r.out);
  return parseAllDocuments(r.out)
    .map((d) => d.toJS() as Doc)
    .filter((d) => d !== null);
}

/** The collection URL of an object, for the kinds the chart renders. */
function collection(doc: Doc): string {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  const lower = doc.kind.toLowerCase();
  const plural = lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const cluster = ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'].includes(doc.kind);
  // Objects the chart puts in other namespaces (the simulators' per-namespace Roles) say so themselves.
  const ns = (doc.metadata as { namespace?: string }).namespace ?? NS;
  return cluster ? `${base}/${plural}` : `${base}/namespaces/${ns}/${plural}`;
}

describe('Helm chart', () => {
  let http: KubeHttp;
  beforeAll(async () => {
    helmBin = path.join(ensureBinaries(['helm']), 'helm');
    http = KubeHttp.fromFile(inject('kubeconfig'));
    await http.expect('POST', '/api/v1/namespaces', [201, 409], {
      body: { metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
  });
  afterAll(() => http?.close());

  it('passes helm lint', () => {
    const r = helm('lint', CHART, '--kube-version', '1.36.3');
    expect(r.out).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('rejects unknown values and refuses the simulators without the exact acknowledgement', () => {
    const typo = helm('template', 'sk', CHART, '--kube-version', '1.36.3', '--set', 'operator.replica=3');
    expect(typo.code).not.toBe(0);
    expect(typo.out).toContain("additional properties 'replica' not allowed");
    const sims = helm(
      'template',
      'sk',
      CHART,
      '--kube-version',
      '1.36.3',
      '--set',
      'simulators.enabled=true',
    );
    expect(sims.code).not.toBe(0);
    expect(sims.out).toContain('SIMULATED Azure and SEV-SNP services that protect nothing');
    expect(render('simulators.enabled=true', `simulators.acknowledge=${ACK}`).length).toBeGreaterThan(0);
  });

  const cases: Array<[string, string[]]> = [
    ['default values', []],
    ['workload identity', ['azure.tenantId=t', 'azure.operatorClientId=c', 'azure.agentClientId=a']],
    ['network policy', ['networkPolicy.enabled=true']],
    [
      'one namespace, Ignore failure policy, extra exclusions',
      ['operator.watchNamespace=shop', 'webhook.failurePolicy=Ignore', 'webhook.excludeNamespaces[0]=tools'],
    ],
    [
      'cert-manager',
      [
        'webhook.certManager.enabled=true',
        'webhook.certManager.issuerRef.name=ca',
        'webhook.certManager.issuerRef.kind=ClusterIssuer',
      ],
    ],
    ['ServiceMonitor', ['metrics.serviceMonitor.enabled=true']],
    ['webhook client CA', ['webhook.clientCA.configMap=apiserver-admission-ca']],
    ['simulators acknowledged', ['simulators.enabled=true', `simulators.acknowledge=${ACK}`]],
    [
      'simulators serving some namespaces only',
      ['simulators.enabled=true', `simulators.acknowledge=${ACK}`, 'simulators.pspNamespaces={default}'],
    ],
    ['node agent', ['nodeAgent.enabled=true', 'azure.nodeAgentClientId=n', 'nodeAgent.tpmGroupId=59']],
    [
      'node agent with simulators',
      [
        'nodeAgent.enabled=true',
        'simulators.enabled=true',
        `simulators.acknowledge=${ACK}`,
        'nodeAgent.tpm=unix:/run/securekey-vtpm/tpm.sock',
      ],
    ],
  ];

  it.each(cases)(
    '%s: every object is accepted by the API server (server-side dry run)',
    async (_name, sets) => {
      const docs = render(...sets);
      expect(docs.map((d) => d.kind)).toContain('Deployment');
      for (const doc of docs) {
        // cert-manager and Prometheus-operator kinds need their CRDs, which this cluster does not have.
        if (
          doc.apiVersion.startsWith('cert-manager.io/') ||
          doc.apiVersion.startsWith('monitoring.coreos.com/')
        ) {
          expect(doc.metadata.name).toMatch(/^securekey/);
          continue;
        }
        const res = await http.request<{ message?: string }>('POST', collection(doc), {
          body: doc,
          query: { dryRun: 'All' },
        });
        expect(res.status, `${doc.kind}/${doc.metadata.name}: ${res.body.message ?? ''}`).toBe(201);
      }
    },
  );

  it('webhook.clientCA makes the webhook accept only clients with a certificate from that CA', () => {
    const operator = (...sets: string[]) => {
      const deployment = render(...sets).find(
        (d) => d.kind === 'Deployment' && d.metadata.name.endsWith('operator'),
      ) as unknown as {
        spec: {
          template: {
            spec: {
              containers: Array<{
                env: Array<{ name: string; value?: string }>;
                volumeMounts: Array<{ name: string }>;
              }>;
              volumes: Array<{ name: string; configMap?: { name: string; items: unknown[] } }>;
            };
          };
        };
      };
      return deployment.spec.template.spec;
    };
    const env = (spec: ReturnType<typeof operator>) =>
      spec.containers[0]!.env.find((e) => e.name === 'SECUREKEY_WEBHOOK_CLIENT_CA_FILE')?.value;
    expect(env(operator())).toBeUndefined();
    const spec = operator('webhook.clientCA.configMap=apiserver-admission-ca');
    expect(env(spec)).toBe('/etc/securekey/webhook-client-ca/ca.crt');
    expect(spec.containers[0]!.volumeMounts.map((m) => m.name)).toContain('webhook-client-ca');
    expect(spec.volumes.find((v) => v.name === 'webhook-client-ca')?.configMap).toEqual({
      name: 'apiserver-admission-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
  });

  it('simulators: every pod trusting the CA carries the checksum of the CA this render ships, and the PSP reads pods only where asked', () => {
    type Full = Doc & {
      data?: Record<string, string>;
      rules?: { resources?: string[] }[];
      spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
    };
    const docs = render(
      'simulators.enabled=true',
      `simulators.acknowledge=${ACK}`,
      'simulators.pspNamespaces={default}',
    ) as Full[];
    // One CA per render: the Secret and both checksums agree (they used to differ on the first upgrade,
    // rolling the simulators and losing their in-memory vault).
    const secret = docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'securekey-simulators-ca')!;
    const caSum = createHash('sha256').update(secret.data!['ca.crt']!).digest('hex');
    const sums = docs
      .filter((d) => d.kind === 'Deployment')
      .map((d) => d.spec!.template!.metadata!.annotations?.['checksum/simulators-ca']);
    expect(sums).toEqual([caSum, caSum]);
    // Pods are readable in the listed namespace only, not cluster-wide.
    const role = docs.find((d) => d.kind === 'Role' && d.metadata.namespace === 'default');
    expect(role?.rules?.flatMap((r) => r.resources ?? [])).toEqual(['pods']);
    const clusterRole = docs.find(
      (d) => d.kind === 'ClusterRole' && d.metadata.name.endsWith('-simulators'),
    )!;
    expect(clusterRole.rules!.flatMap((r) => r.resources ?? [])).not.toContain('pods');
  });

  it('nodeAgent: a DaemonSet on CVM nodes behind a node-local Service, least-privilege RBAC, its CA where pods are, the operator told where', () => {
    type Container = {
      args: string[];
      env: Array<{ name: string; value?: string }>;
      securityContext: Record<string, unknown>;
      volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
    };
    type Full = Doc & {
      data?: Record<string, string>;
      rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
      subjects?: Array<{ name: string }>;
      spec?: {
        internalTrafficPolicy?: string;
        ports?: Array<{ port: number }>;
        template?: {
          metadata: { labels: Record<string, string> };
          spec: {
            serviceAccountName: string;
            nodeSelector?: Record<string, string>;
            securityContext: Record<string, unknown>;
            containers: Container[];
            volumes: Array<{ name: string; hostPath?: { path: string; type: string } }>;
          };
        };
      };
    };
    const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));
    expect(render().map((d) => d.kind)).not.toContain('DaemonSet');
    const refused = renderRaw('nodeAgent.enabled=true');
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('nodeAgent.enabled needs azure.nodeAgentClientId');

    const docs = render(
      'nodeAgent.enabled=true',
      'azure.nodeAgentClientId=node-client',
      'nodeAgent.caNamespaces={shop,default}',
    ) as Full[];
    const ds = docs.find((d) => d.kind === 'DaemonSet')!;
    const pod = ds.spec!.template!.spec;
    const agent = pod.containers[0]!;
    expect(agent.args).toEqual(['node-server']);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.azure.com/security-type': 'ConfidentialVM' });
    expect(pod.serviceAccountName).toBe('securekey-node-agent');
    expect(ds.spec!.template!.metadata.labels['azure.workload.identity/use']).toBe('true');
    // The host's vTPM: a device the device cgroup admits only for a privileged container on runc.
    expect(envOf(agent)).toMatchObject({
      SECUREKEY_NODE_KEY_SOURCE: 'azure-guest',
      SECUREKEY_TPM: '/dev/tpmrm0',
      SECUREKEY_NODE_SERVER_TLS_CERT: '/etc/securekey/node-tls/tls.crt',
    });
    expect(pod.volumes.find((v) => v.name === 'tpm')?.hostPath).toEqual({
      path: '/dev/tpmrm0',
      type: 'CharDevice',
    });
    expect(agent.securityContext['privileged']).toBe(true);
    // The host's TCG event log: that one file, read-only, where SECUREKEY_TCG_LOG says.
    expect(pod.volumes.find((v) => v.name === 'tcg-log')?.hostPath).toEqual({
      path: '/sys/kernel/security/tpm0/binary_bios_measurements',
      type: 'File',
    });
    const logMount = agent.volumeMounts.find((m) => m.name === 'tcg-log')!;
    expect(logMount).toEqual({
      name: 'tcg-log',
      mountPath: '/run/securekey/tcg/binary_bios_measurements',
      readOnly: true,
    });
    expect(envOf(agent)['SECUREKEY_TCG_LOG']).toBe(logMount.mountPath);
    const sa = docs.find((d) => d.kind === 'ServiceAccount' && d.metadata.name === 'securekey-node-agent')!;
    expect((sa.metadata as { annotations?: Record<string, string> }).annotations).toMatchObject({
      'azure.workload.identity/client-id': 'node-client',
    });

    const service = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'securekey-node-agent')!;
    expect(service.spec!.internalTrafficPolicy).toBe('Local');
    expect(service.spec!.ports!.map((p) => p.port)).toEqual([8443]);

    const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'sk-securekey-node-agent')!;
    expect(role.rules!.map((r) => [r.resources, r.verbs])).toEqual([
      [['tokenreviews'], ['create']],
      [['pods'], ['get']],
      [['securekeys'], ['get', 'list', 'watch']],
    ]);
    const binding = docs.find(
      (d) => d.kind === 'ClusterRoleBinding' && d.metadata.name === 'sk-securekey-node-agent',
    )!;
    expect(binding.subjects!.map((s) => s.name)).toEqual(['securekey-node-agent']);

    // One CA: the Secret the agent serves with, and a ConfigMap holding it in each listed namespace.
    const tls = docs.find((d) => d.kind === 'Secret' && d.metadata.name === 'securekey-node-agent-tls')!;
    const caPem = Buffer.from(tls.data!['ca.crt']!, 'base64').toString();
    const configMaps = docs.filter(
      (d) => d.kind === 'ConfigMap' && d.metadata.name === 'securekey-node-agent-ca',
    );
    expect(configMaps.map((c) => c.metadata.namespace)).toEqual(['shop', 'default']);
    for (const c of configMaps) expect(c.data!['ca.crt']).toBe(caPem);
    const serving = new X509Certificate(Buffer.from(tls.data!['tls.crt']!, 'base64'));
    expect(serving.subjectAltName).toContain(`DNS:securekey-node-agent.${NS}.svc`);
    expect(serving.verify(new X509Certificate(caPem).publicKey)).toBe(true);

    const operator = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'securekey-operator')!;
    expect(envOf(operator.spec!.template!.spec.containers[0]!)).toMatchObject({
      SECUREKEY_NODE_AGENT_URL: `https://securekey-node-agent.${NS}.svc:8443`,
      SECUREKEY_NODE_AGENT_CA_CONFIGMAP: 'securekey-node-agent-ca',
    });

    // Simulators: a socket's directory from the host, no privilege, non-root, the agents' simulated identity.
    const sims = render(
      'nodeAgent.enabled=true',
      'simulators.enabled=true',
      `simulators.acknowledge=${ACK}`,
      'nodeAgent.tpm=unix:/run/securekey-vtpm/tpm.sock',
      'nodeAgent.tcgLog=/run/securekey-vtpm/binary_bios_measurements',
    ) as Full[];
    const simPod = sims.find((d) => d.kind === 'DaemonSet')!.spec!.template!.spec;
    const simAgent = simPod.containers[0]!;
    expect(simAgent.securityContext['privileged']).toBeUndefined();
    expect(simAgent.securityContext['capabilities']).toEqual({ drop: ['ALL'] });
    expect(simPod.securityContext['runAsNonRoot']).toBe(true);
    expect(simPod.volumes.find((v) => v.name === 'tpm')?.hostPath).toEqual({
      path: '/run/securekey-vtpm',
      type: 'Directory',
    });
    expect(simPod.volumes.find((v) => v.name === 'tcg-log')?.hostPath).toEqual({
      path: '/run/securekey-vtpm/binary_bios_measurements',
      type: 'File',
    });
    expect(envOf(simAgent)).toMatchObject({
      SECUREKEY_SIMULATORS: 'true',
      SECUREKEY_TPM: 'unix:/run/securekey-vtpm/tpm.sock',
      AZURE_CLIENT_ID: '5a4db0c2-0000-4000-8000-0000000000a2',
      SECUREKEY_THIM_URL: `http://securekey-simulators.${NS}.svc.cluster.local:8447`,
    });
    const simulators = sims.find(
      (d) => d.kind === 'Deployment' && d.metadata.name === 'securekey-simulators',
    )!;
    expect(
      envOf(simulators.spec!.template!.spec.containers[0]!)['SECUREKEY_SIM_WORKLOAD_SERVICE_ACCOUNTS'],
    ).toBe(`default/default,${NS}/securekey-node-agent`);
    // A socket vTPM is a simulator's: refused without them.
    const socket = renderRaw(
      'nodeAgent.enabled=true',
      'azure.nodeAgentClientId=n',
      'nodeAgent.tpm=unix:/run/securekey-vtpm/tpm.sock',
    );
    expect(socket.out).toContain('a unix: or tcp: vTPM is a simulator');
  });

  it('the operator pod passes Pod Security restricted and runs with leader election, webhook and V8 limits', async () => {
    const deployment = render().find((d) => d.kind === 'Deployment') as Doc & {
      spec: {
        replicas: number;
        template: {
          metadata: unknown;
          spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> };
        };
      };
    };
    expect(deployment.spec.replicas).toBe(2);
    const env = Object.fromEntries(
      deployment.spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]),
    );
    expect(env['SECUREKEY_WEBHOOK']).toBe('true');
    expect(env['NODE_OPTIONS']).toContain('--max-old-space-size');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'operator-pod-check' },
      spec: deployment.spec.template.spec,
    };
    // The service account must exist, or its admission refuses the pod before Pod Security looks at it.
    await http.expect('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, [201, 409], {
      body: { metadata: { name: 'securekey-operator' } },
    });
    const dryRun = (body: unknown) =>
      http.request<{ message?: string }>('POST', `/api/v1/namespaces/${NS}/pods`, {
        body,
        query: { dryRun: 'All' },
      });
    const res = await dryRun(pod);
    expect(res.status, res.body.message).toBe(201);
    // The namespace does enforce restricted: the same pod allowed to escalate is refused.
    const loose = structuredClone(pod) as unknown as {
      spec: { containers: Array<{ securityContext: Record<string, unknown> }> };
    };
    loose.spec.containers[0]!.securityContext['allowPrivilegeEscalation'] = true;
    const refused = await dryRun(loose);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('violates PodSecurity "restricted');
  });

  it('ships the CRD unchanged and keeps it on uninstall (Helm never deletes crds/)', async () => {
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(path.join(CHART, 'crds/securekey.yaml'), 'utf8')).toBe(
      readFileSync(path.join(repoRoot, 'crds/securekey.yaml'), 'utf8'),
    );
  });
});
