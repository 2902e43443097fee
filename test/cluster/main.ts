#!/usr/bin/env node
// `npm run control-plane [-- --node]`: a local etcd + kube-apiserver with the SecureKey CRD, for trying
// the operator without a cluster (`KUBECONFIG=<printed path> npm start`). With --node (root; Debian's
// containerd, runc, containernetworking-plugins and buildah installed) also a worker node that runs pods
// (test/cluster/node.ts). Ctrl-C stops everything and removes its files.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { applyCrds } from './crds.ts';
import { startControlPlane } from './control-plane.ts';
import { buildPauseImage, startNode, type ClusterNode } from './node.ts';

const plane = await startControlPlane({ keep: process.env['SECUREKEY_KEEP_CLUSTER'] === '1' });
const kc = new KubeConfig();
kc.loadFromFile(plane.kubeconfigPath);
await applyCrds(kc);
let node: ClusterNode | undefined;
if (process.argv.includes('--node')) {
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-node-'));
  const pause = buildPauseImage(dir);
  node = await startNode({ plane, dir, images: [pause.archive], pauseImage: pause.ref });
  process.stdout.write(
    `node ${node.name} (${node.ip}) ready; images are imported with ctr -a ${node.containerdSocket}\n`,
  );
}
process.stdout.write(`control plane ready at ${plane.server}\nexport KUBECONFIG=${plane.kubeconfigPath}\n`);
const stop = async () => {
  await node?.stop();
  await plane.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
