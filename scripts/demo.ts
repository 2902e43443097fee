#!/usr/bin/env node
/**
 * `npm run demo`: SecureKey end to end in a few minutes, with SIMULATED SEV-SNP, Azure Attestation, Entra ID
 * and Managed HSM. Brings up the local cluster (root, Linux), or uses the current kube context
 * (`--current`, images named by --image-repo/--image-tag), or kind (`--kind`, Docker); installs the chart
 * with the simulators; applies a SecureKey and a pod prepared with `securekey inject`; prints what happens;
 * shows a pod with another policy refused; then says how to clean up. `--node-mode` (local cluster only)
 * shows node mode instead: a simulated Azure vTPM (swtpm) on this host as the node's, the node labelled a
 * confidential VM, the node agent attesting through it and serving an approved pod, an unapproved one refused.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { policyDigest } from '../core/digest/index.ts';
import { startTargetCluster, type TargetCluster } from './cluster/target.ts';
import {
  APPS,
  b64,
  KATA_POLICY,
  secureKey,
  SimulatedInstall,
  SYSTEM,
  VAULT,
} from './cluster/simulated-install.ts';
import { clusterEventually as eventually } from './cluster/eventually.ts';
import { prepareKind } from './cluster/kind.ts';
import { repoRoot } from './cluster/paths.ts';
import { ensureLocalPrerequisites, realHost } from './cluster/prerequisites.ts';
import { CVM_LABEL, simulatedCvmNode, type SimulatedCvmNode } from './cluster/simulated-cvm-node.ts';

/** Ends the demo, with a message on stderr: 1 for a failure, 128 + signal after Ctrl-C (130) or SIGTERM. */
function exit(code: number, message?: string): never {
  if (message) process.stderr.write(`\n${message}\n`);
  process.exit(code);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        current: { type: 'boolean', default: false },
        kind: { type: 'boolean', default: false },
        'node-image': { type: 'string' },
        'cgroup-v1': { type: 'boolean' },
        'extra-ca': { type: 'string' },
        'image-repo': { type: 'string', default: 'localhost/securekey' },
        'image-tag': { type: 'string' },
        'node-mode': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return exit(2, `${(err as Error).message} (see npm run demo -- --help)`);
  }
})();
if (values.help) {
  process.stdout.write(
    'npm run demo [-- --current | --kind [--node-image I] [--cgroup-v1]] [--extra-ca FILE] [--image-repo R --image-tag T]\n' +
      '  (default) the local cluster: root on Linux; installs the Debian packages it lacks (containerd, runc,\n' +
      '             CNI plugins, buildah, iptables, gcc); Go builds the Kubernetes binaries once (scripts/setup-k8s.sh)\n' +
      '  --current  the current kube context; the images must be pullable there (R/operator:T, R/agent:T, R/simulators:T)\n' +
      '  --kind     a kind cluster "securekey-demo" (docker + buildx, kind, helm); images built from images/Dockerfile\n' +
      "             --node-image: kind's node image; --cgroup-v1: kubelet failCgroupV1: false (automatic when\n" +
      '             `docker info` reports cgroup v1; kubelet ≥ 1.35 refuses cgroup v1 otherwise)\n' +
      '  --extra-ca a CA (PEM) npm trusts while building the images, behind a TLS-intercepting proxy\n' +
      '  --node-mode node mode (confidential-VM node pools): a simulated vTPM (swtpm) on this host stands for the\n' +
      "             node's; local cluster only\n",
  );
  process.exit(0);
}

if (values['node-mode'] && (values.kind || values.current)) {
  exit(
    2,
    '--node-mode needs the simulated vTPM on this host: the local cluster only (no --kind or --current)',
  );
}

const started = Date.now();
const say = (line: string) =>
  process.stdout.write(`${`[${((Date.now() - started) / 1000).toFixed(1)}s]`.padEnd(8)} ${line}\n`);
const short = (hex: string) => `${hex.slice(0, 12)}…`;
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

process.stdout.write(
  'SecureKey demo — SIMULATORS: the SEV-SNP host, Azure Attestation, Entra ID and Managed HSM are fakes.\n' +
    'Nothing here protects real secrets.\n\n',
);

function kindCluster(): void {
  const name = 'securekey-demo';
  const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'securekey-demo-')), 'kubeconfig');
  prepareKind(
    {
      name,
      kubeconfig,
      repo: values['image-repo'],
      tag: version,
      ...(values['node-image'] ? { nodeImage: values['node-image'] } : {}),
      ...(values['cgroup-v1'] ? { cgroupV1: true } : {}),
      ...(values['extra-ca'] ? { extraCa: values['extra-ca'] } : {}),
    },
    say,
  );
  Object.assign(process.env, {
    KUBECONFIG: kubeconfig,
    SECUREKEY_E2E_CLUSTER: 'existing',
    SECUREKEY_E2E_IMAGE_REPO: values['image-repo'],
    SECUREKEY_E2E_IMAGE_TAG: version,
  });
}

let cluster: TargetCluster;
if (values.kind) {
  say('kind: cluster securekey-demo, the images built and loaded (Docker)…');
  try {
    kindCluster();
  } catch (err) {
    exit(1, `could not bring up the kind cluster: ${(err as Error).message}`);
  }
} else if (values.current) {
  Object.assign(process.env, {
    SECUREKEY_E2E_CLUSTER: 'existing',
    SECUREKEY_E2E_IMAGE_REPO: values['image-repo'],
    SECUREKEY_E2E_IMAGE_TAG: values['image-tag'] ?? version,
  });
} else {
  const configured = process.env['KUBECONFIG'] ?? path.join(process.env['HOME'] ?? '/root', '.kube/config');
  if (existsSync(configured)) {
    say(
      `(a kube context is configured in ${configured}; this demo brings up its own cluster — --current uses yours)`,
    );
  }
  try {
    ensureLocalPrerequisites(realHost, say);
  } catch (err) {
    exit(1, `${(err as Error).message}\n(or use --kind with Docker, or --current with a cluster you have)`);
  }
  // build-images.sh's npm ci inherits it.
  if (values['extra-ca']) process.env['NODE_EXTRA_CA_CERTS'] = path.resolve(values['extra-ca']);
  say('local cluster: etcd, kube-apiserver, kubelet, containerd, kube-proxy, CoreDNS; building the images…');
}
if (process.env['SECUREKEY_E2E_CLUSTER'] === 'existing' && !process.env['KUBECONFIG']) {
  process.env['KUBECONFIG'] = path.join(process.env['HOME'] ?? '/root', '.kube/config');
}
try {
  cluster = await startTargetCluster();
} catch (err) {
  exit(1, `could not bring up a cluster: ${(err as Error).message}`);
}
say(`cluster ready (${cluster.kind === 'local' ? 'local' : (process.env['KUBECONFIG'] ?? '')})`);

const install = new SimulatedInstall(cluster);
const cleanupHint = () =>
  cluster.kind === 'local'
    ? 'Press Ctrl-C to stop the local cluster and remove everything it made.'
    : `Clean up: kubectl delete pod -n ${APPS} demo-app demo-intruder; kubectl delete securekey -n ${APPS} demo-key; ` +
      `helm uninstall securekey -n ${SYSTEM}${values.kind ? '; kind delete cluster --name securekey-demo' : ''}`;

let failed = false;

/** The app's own line: the SHA-256 of the key it read, against the vault's newest version. */
async function sayAppKey(pod: string, secureKey: string): Promise<void> {
  const prints = await install.vaultKey(secureKey);
  const appLog = await eventually(async () => {
    const log = await cluster.logs(APPS, pod, 'app');
    return log.includes('key-sha256=') ? log : undefined;
  }, 30_000);
  const seen = /key-sha256=([0-9a-f]{64})/.exec(appLog)?.[1] ?? '';
  const same = prints?.versions.at(-1)?.sha256 === seen;
  say(
    `app: read /run/securekey/db from tmpfs — sha256 ${short(seen)} ${same ? '= the vault’s key' : '≠ THE VAULT’S KEY'}`,
  );
}
let cvm: SimulatedCvmNode | undefined;

/** Node mode: the node agent attests the node through its vTPM and serves an approved pod; not the rest. */
async function nodeModeDemo(): Promise<void> {
  cvm = await simulatedCvmNode(cluster);
  const { node, vtpm } = cvm;
  say(`node ${node}: labelled ${CVM_LABEL}=ConfidentialVM; its vTPM is a SIMULATED one (swtpm) on this host`);
  await install.install(cvm.chartValues);
  say(`chart installed in ${SYSTEM}: operator ×2, webhook, simulators, node agent (DaemonSet on CVM nodes)`);

  await install.applySecureKey(
    secureKey('node-key', 'node-demo', 'Delete', install.approvers, { mode: 'Node' }),
  );
  const ready = await install.readySecureKey('node-key');
  say(
    `SecureKey ${APPS}/node-key (mode Node): key created, version ${short(ready.status!.key!.version!)}; ` +
      'its release policy admits compliant Azure confidential VMs, no pod digests',
  );
  const image = await install.pinnedImage('agent');
  const [app] = await install.injectNodeMode(
    [install.podManifest('node-demo-app', 'node-demo', 'node-key', true, image)],
    'node-key',
  );
  say('pod node-demo-app: `securekey inject` (node client), images pinned, `securekey approve` (containers)');
  await install.createPod(app!);
  await install.waitPhase('node-demo-app', 'Running');
  say(
    `node agent: vTPM evidence (HCL report ${vtpm.reportsGenerated() > 1 ? 'regenerated' : '?'}, AK quote) → ` +
      'Azure Attestation AzureGuest → key released wrapped to the TPM, unwrapped through it → served to the pod',
  );
  await sayAppKey('node-demo-app', 'node-key');

  const [other] = await install.injectNodeMode(
    [install.podManifest('node-demo-intruder', 'node-demo', 'node-key', false, image)],
    'node-key',
    { approve: false },
  );
  say('pod node-demo-intruder: the same pod, never approved…');
  await install.createPod(other!);
  await install.waitPhase('node-demo-intruder', 'Failed');
  const lines = (await cluster.logs(APPS, 'node-demo-intruder', 'securekey-agent'))
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const last = JSON.parse(lines.at(-1) ?? '{}') as { message?: string };
  say(
    `refused by the node agent: ${last.message ?? 'see its securekey-agent log'}; its application never started`,
  );
  process.stdout.write(
    `\nExplore: export KUBECONFIG=${cluster.kubeconfig}\n` +
      `  kubectl get securekeys -A; kubectl logs -n ${SYSTEM} daemonset/securekey-node-agent\n` +
      `${cleanupHint()}\n`,
  );
}

try {
  if (values['node-mode']) await nodeModeDemo();
  else await podModeDemo();
} catch (err) {
  failed = true;
  process.stderr.write(`\ndemo failed: ${(err as Error).message}\n${cleanupHint()}\n`);
}

async function podModeDemo(): Promise<void> {
  await install.install();
  say(`chart installed in ${SYSTEM}: operator ×2 (one leads), mutating webhook, simulators`);

  await install.applySecureKey(secureKey('demo-key', 'demo', 'Delete', install.approvers));
  const ready = await install.readySecureKey('demo-key');
  say(
    `SecureKey ${APPS}/demo-key: key created in ${VAULT} — oct-HSM 256, version ${short(ready.status!.key!.version!)}`,
  );

  const policy = 'package agent_policy\ndefault allow := true # demo app';
  const digest = policyDigest('kata-agent-policy', { [KATA_POLICY]: b64(policy) }).digest;
  const [app] = install.injectThenPolicy(
    [install.podManifest('demo-app', 'demo', 'demo-key', true)],
    policy,
    'demo-key',
  );
  say(
    `pod demo-app: agent added by \`securekey inject\`, its policy "generated" (digest ${short(digest)}), ` +
      `then signed by \`securekey approve\` with the approver key the SecureKey lists`,
  );
  await install.createPod(app!);
  await eventually(
    async () =>
      (await install.getSecureKey('demo-key')).status?.policy?.digests?.some((d) => d.digest === digest),
    60_000,
    'the digest admitted',
  );
  say(`operator: digest ${short(digest)}, approved by ci, admitted to the key's release policy`);
  await install.waitPhase('demo-app', 'Running');
  const agentLog = await cluster.logs(APPS, 'demo-app', 'securekey-agent');
  const ready2 = agentLog.split('\n').find((l) => l.includes('"msg":"ready"')) ?? '';
  const ms = /"totalMs":(\d+)/.exec(ready2)?.[1];
  say(
    `agent: SEV-SNP report (simulated PSP) → Azure Attestation token → key released, wrapped to its own RSA key, unwrapped` +
      (ms ? ` (${ms} ms)` : ''),
  );
  await sayAppKey('demo-app', 'demo-key');

  const other = 'package agent_policy\ndefault ExecProcessRequest := true # anyone may exec in';
  const otherDigest = policyDigest('kata-agent-policy', { [KATA_POLICY]: b64(other) }).digest;
  const [intruder] = install.injectThenPolicy(
    [install.podManifest('demo-intruder', 'demo', 'demo-key')],
    other,
    'demo-key',
    { approve: false },
  );
  say('pod demo-intruder: same labels, a permissive policy of its own, no approval (any pod creator could)…');
  await install.createPod(intruder!);
  await eventually(
    async () =>
      (await install.getSecureKey('demo-key')).status?.proposals?.some((p) => p.digest === otherDigest),
    60_000,
    'the digest proposed',
  );
  say(`operator: digest ${short(otherDigest)} proposed for approval in status, not admitted`);
  await install.waitPhase('demo-intruder', 'Failed');
  const failure = (await cluster.logs(APPS, 'demo-intruder', 'securekey-agent'))
    .split('\n')
    .map((line) => {
      try {
        return JSON.parse(line) as { level?: string; kind?: string; step?: string; message?: string };
      } catch {
        return undefined;
      }
    })
    .find((e) => e?.level === 'error');
  const reason = failure?.message?.split(': the vault answered')[0] ?? 'see its securekey-agent log';
  say(
    `refused at ${failure?.step ?? '?'} (${failure?.kind ?? '?'}): ${reason}; its application never started`,
  );
  process.stdout.write(
    `\nExplore: export KUBECONFIG=${cluster.kubeconfig}\n` +
      `  kubectl get securekeys -A; kubectl logs -n ${APPS} demo-app -c securekey-agent\n` +
      `${cleanupHint()}\n`,
  );
}

if (cluster.kind === 'local') {
  // The local cluster stays up to be explored until Ctrl-C; a failed demo still exits 1.
  const stop = async (signalled: number) => {
    install.close();
    await cluster.stop();
    await cvm?.stop();
    exit(failed ? 1 : signalled);
  };
  process.once('SIGINT', () => void stop(130));
  process.once('SIGTERM', () => void stop(143));
} else {
  install.close();
  await cluster.stop();
  if (failed) exit(1);
}
