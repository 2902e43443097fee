#!/usr/bin/env node
/**
 * `npm run demo`: SecureKey end to end in a few minutes, with SIMULATED SEV-SNP, Azure Attestation, Entra ID
 * and Managed HSM. Brings up the local cluster (root, Linux), or uses the current kube context
 * (`--current`, images named by --image-repo/--image-tag), or kind (`--kind`, Docker); installs the chart
 * with the simulators; applies a SecureKey and a pod prepared with `securekey inject`; prints what happens;
 * shows a pod with another policy refused; then says how to clean up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
import { repoRoot } from './cluster/paths.ts';

const { values } = parseArgs({
  options: {
    current: { type: 'boolean', default: false },
    kind: { type: 'boolean', default: false },
    'image-repo': { type: 'string', default: 'localhost/securekey' },
    'image-tag': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run demo [-- --current | --kind] [--image-repo R --image-tag T]\n' +
      '  (default) the local cluster: root on Linux, Debian containerd/runc/CNI/buildah, Go (scripts/setup-k8s.sh)\n' +
      '  --current  the current kube context; the images must be pullable there (R/operator:T, R/agent:T, R/simulators:T)\n' +
      '  --kind     a kind cluster "securekey-demo" (Docker, kind, helm on PATH); images built from images/Dockerfile\n',
  );
  process.exit(0);
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
  const run = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const clusters = execFileSync('kind', ['get', 'clusters'], { encoding: 'utf8' }).split('\n');
  if (!clusters.includes(name)) run('kind', ['create', 'cluster', '--name', name, '--wait', '120s']);
  const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'securekey-demo-')), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    execFileSync('kind', ['get', 'kubeconfig', '--name', name], { encoding: 'utf8' }),
  );
  for (const image of ['operator', 'agent', 'simulators']) {
    const ref = `${values['image-repo']}/${image}:${version}`;
    run('docker', [
      'build',
      '-q',
      '--provenance=false',
      '-f',
      'images/Dockerfile',
      '--target',
      image,
      '-t',
      ref,
      repoRoot,
    ]);
    run('kind', ['load', 'docker-image', '--name', name, ref]);
  }
  Object.assign(process.env, {
    KUBECONFIG: kubeconfig,
    SECUREKEY_E2E_CLUSTER: 'existing',
    SECUREKEY_E2E_IMAGE_REPO: values['image-repo'],
    SECUREKEY_E2E_IMAGE_TAG: version,
  });
}

let cluster: TargetCluster;
if (values.kind) {
  say('kind: creating cluster securekey-demo and loading the images (Docker)…');
  kindCluster();
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
  say('local cluster: etcd, kube-apiserver, kubelet, containerd, kube-proxy, CoreDNS; building the images…');
}
if (process.env['SECUREKEY_E2E_CLUSTER'] === 'existing' && !process.env['KUBECONFIG']) {
  process.env['KUBECONFIG'] = path.join(process.env['HOME'] ?? '/root', '.kube/config');
}
try {
  cluster = await startTargetCluster();
} catch (err) {
  process.stderr.write(
    `\ncould not bring up a cluster: ${(err as Error).message}\n` +
      'The local cluster needs root on Linux with containerd, runc, containernetworking-plugins, buildah\n' +
      '(apt-get install …) and Go; or use --kind (Docker) or --current (a cluster you already have).\n',
  );
  process.exit(1);
}
say(`cluster ready (${cluster.kind === 'local' ? 'local' : (process.env['KUBECONFIG'] ?? '')})`);

const install = new SimulatedInstall(cluster);
const cleanupHint = () =>
  cluster.kind === 'local'
    ? 'Press Ctrl-C to stop the local cluster and remove everything it made.'
    : `Clean up: kubectl delete pod -n ${APPS} demo-app demo-intruder; kubectl delete securekey -n ${APPS} demo-key; ` +
      `helm uninstall securekey -n ${SYSTEM}${values.kind ? '; kind delete cluster --name securekey-demo' : ''}`;

try {
  await install.install();
  say(`chart installed in ${SYSTEM}: operator ×2 (one leads), mutating webhook, simulators`);

  await install.applySecureKey(secureKey('demo-key', 'demo', 'Delete'));
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
    `pod demo-app: agent added by \`securekey inject\`, then its policy "generated" (digest ${short(digest)})`,
  );
  await install.createPod(app!);
  await eventually(
    async () =>
      (await install.getSecureKey('demo-key')).status?.policy?.digests?.some((d) => d.digest === digest),
    60_000,
    'the digest admitted',
  );
  say(`operator: digest ${short(digest)} admitted to the key's release policy`);
  await install.waitPhase('demo-app', 'Running');
  const agentLog = await cluster.logs(APPS, 'demo-app', 'securekey-agent');
  const ready2 = agentLog.split('\n').find((l) => l.includes('"msg":"ready"')) ?? '';
  const ms = /"totalMs":(\d+)/.exec(ready2)?.[1];
  say(
    `agent: SEV-SNP report (simulated PSP) → Azure Attestation token → key released, wrapped to its own RSA key, unwrapped` +
      (ms ? ` (${ms} ms)` : ''),
  );
  const prints = await install.vaultKey('demo-key');
  const appLog = await eventually(async () => {
    const log = await cluster.logs(APPS, 'demo-app', 'app');
    return log.includes('key-sha256=') ? log : undefined;
  }, 30_000);
  const seen = /key-sha256=([0-9a-f]{64})/.exec(appLog)?.[1] ?? '';
  const same = prints?.versions.at(-1)?.sha256 === seen;
  say(
    `app: read /run/securekey/db from tmpfs — sha256 ${short(seen)} ${same ? '= the vault’s key' : '≠ THE VAULT’S KEY'}`,
  );

  const other = 'package agent_policy\ndefault allow := true # someone else';
  const [intruder] = install.injectThenPolicy(
    [install.podManifest('demo-intruder', 'intruder', 'demo-key')],
    other,
    'demo-key',
  );
  say('pod demo-intruder: asks for demo-key with another policy (not selected by the SecureKey)…');
  await install.createPod(intruder!);
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
} catch (err) {
  process.stderr.write(`\ndemo failed: ${(err as Error).message}\n${cleanupHint()}\n`);
  if (cluster.kind !== 'local') process.exit(1);
}

if (cluster.kind === 'local') {
  const stop = async () => {
    install.close();
    await cluster.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
} else {
  install.close();
  await cluster.stop();
}
