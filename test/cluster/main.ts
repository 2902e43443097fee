#!/usr/bin/env node
// `npm run control-plane`: a local etcd + kube-apiserver with the SecureKey CRD, for trying the operator
// without a cluster (`KUBECONFIG=<printed path> npm start`). Ctrl-C stops it and removes its files.
import { KubeConfig } from '@kubernetes/client-node';
import { applyCrds } from './crds.ts';
import { startControlPlane } from './control-plane.ts';

const plane = await startControlPlane({ keep: process.env['SECUREKEY_KEEP_CLUSTER'] === '1' });
const kc = new KubeConfig();
kc.loadFromFile(plane.kubeconfigPath);
await applyCrds(kc);
process.stdout.write(`control plane ready at ${plane.server}\nexport KUBECONFIG=${plane.kubeconfigPath}\n`);
const stop = async () => {
  await plane.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
