#!/usr/bin/env node
// `npm run control-plane [-- --node [image.tar …]]`: a local etcd + kube-apiserver with the SecureKey CRD, for trying
// the operator without a cluster (`KUBECONFIG=<printed path> npm start`). With --node (root; Debian's
// containerd, runc, containernetworking-plugins and buildah installed) also a worker node that runs pods
// (scripts/cluster/node.ts). Ctrl-C stops everything and removes its files.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeHttp } from '../../edge/kube/kube-http.ts';
import { applyCrds } from './crds.ts';
import { startControlPlane } from './control-plane.ts';
import { buildPauseImage, nodeIp, startNode, type ClusterNode } from './node.ts';

const withNode = process.argv.includes('--node');
const plane = await startControlPlane({
  keep: process.env['SECUREKEY_KEEP_CLUSTER'] === '1',
  // Pods reach the API server through the `kubernetes` Service, so it must listen beyond loopback.
  ...(withNode ? { advertiseAddress: nodeIp() } : {}),
});
const http = KubeHttp.fromFile(plane.kubeconfigPath);
await applyCrds(http);
http.close();
let node: ClusterNode | undefined;
if (withNode) {
  const dir = mkdtempSync(path.join(tmpdir(), 'securekey-node-'));
  const pause = buildPauseImage(dir);
  const images = process.argv.filter((a) => a.endsWith('.tar'));
  node = await startNode({
    plane,
    dir,
    images: [pause.archive, ...images],
    pauseImage: pause.ref,
    services: true,
  });
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
