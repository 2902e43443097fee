/**
 * The local cluster's node as an AKS confidential-VM node, for node mode (the demo's `--node-mode` and
 * test/e2e/node-mode.test.ts): a SIMULATED Azure vTPM (sim/vtpm: swtpm behind the paravisor proxy) on this
 * host with its socket where the node agent (uid 65532) can reach it through a hostPath, and the node
 * labelled as AKS labels CVM nodes. The vTPM's TCG event log is written beside its socket, and the chart
 * mounts that file as the node's securityfs log. `stop()` takes the label off and stops the vTPM.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchSimulatedVtpm, type SimulatedVtpm } from '../../sim/vtpm/index.ts';
import type { TargetCluster } from './target.ts';

export const CVM_LABEL = 'kubernetes.azure.com/security-type';

export interface SimulatedCvmNode {
  node: string;
  vtpm: SimulatedVtpm;
  /** The vTPM socket's directory (what the DaemonSet mounts). */
  socketDir: string;
  /** The chart's --set values that point the node agent at this vTPM. */
  chartValues: string[];
  stop(): Promise<void>;
}

export async function simulatedCvmNode(cluster: TargetCluster): Promise<SimulatedCvmNode> {
  const socketDir = mkdtempSync(path.join(tmpdir(), 'securekey-node-vtpm-'));
  chmodSync(socketDir, 0o755);
  const socket = path.join(socketDir, 'tpm.sock');
  const tcgLog = path.join(socketDir, 'binary_bios_measurements');
  const vtpm = await launchSimulatedVtpm({ listen: { path: socket }, tcgLogPath: tcgLog });
  chmodSync(socket, 0o666);
  const label = (value: string | null) =>
    cluster.http.expect('PATCH', `/api/v1/nodes/${node}`, [200], {
      body: { metadata: { labels: { [CVM_LABEL]: value } } },
      contentType: 'application/merge-patch+json',
    });
  let node = '';
  try {
    const nodes = await cluster.http.expect<{ items: Array<{ metadata: { name: string } }> }>(
      'GET',
      '/api/v1/nodes',
      [200],
    );
    node = nodes.items[0]!.metadata.name;
    await label('ConfidentialVM');
  } catch (err) {
    await vtpm.stop();
    rmSync(socketDir, { recursive: true, force: true });
    throw err;
  }
  return {
    node,
    vtpm,
    socketDir,
    chartValues: ['nodeAgent.enabled=true', `nodeAgent.tpm=unix:${socket}`, `nodeAgent.tcgLog=${tcgLog}`],
    async stop() {
      await label(null).catch(() => undefined);
      await vtpm.stop();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}
