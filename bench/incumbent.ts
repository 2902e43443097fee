/**
 * The incumbent, for bench/agent.ts: Microsoft's SKR sidecar (`cmd/skr` of
 * github.com/microsoft/confidential-sidecar-containers), built outside this repository, run against the same
 * sandbox as the agent. `SKR_SIDECAR_BIN` names the binary; nothing of its code is in this tree.
 *
 * The binary must be a build whose report request goes to the simulated `/dev/sev-guest` served on the
 * Unix socket named by `SKR_SEV_SOCKET` (sim/sev's device socket protocol) instead of the ioctl, and which
 * reaches the sandbox's Entra, MAA and vault: `AZURE_AUTHORITY_HOST` as its authority (without instance
 * discovery), the vault resource from `SKR_VAULT_RESOURCE`, `*.localhost` on loopback, and the vault's
 * certificate checked against the host without the port. Trust comes from `SSL_CERT_FILE` (the sandbox's
 * CA). bench/README.md ("The incumbent") says how such a build is made.
 *
 * One run: spawn `skr -port P`, POST `/key/release` for each key as soon as the port answers (all at once
 * for several keys: the sidecar attests once per request), until every answer holds a key. Peak RSS is the
 * sidecar's `VmHWM` after the last answer.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REFERENCE_INFO_FILE } from '../core/uvm/index.ts';
import { httpRequest, HttpError } from '../edge/http/client.ts';
import { freePort } from '../scripts/cluster/ports.ts';
import { testdata } from '../test/support/paths.ts';
import type { AgentWorld } from '../test/support/agent/world.ts';

/** Issue 15's figures, measured elsewhere against the real sidecar: printed when no binary is given. */
export const ISSUE_15_REFERENCE = {
  measuredHere: false,
  source:
    'issue 15 (20 alternating rounds, the real Go sidecar on the same simulators; not measured by this run)',
  oneKeyAgentOverSidecar: { min: 1.55, max: 1.96 },
  threeKeysAgentOverSidecar: { min: 0.75, max: 1.03 },
  peakRssMiB: { agent: 70, sidecar: 24 },
};

export interface SidecarRun {
  /** Spawn → every key answered. */
  keysMs: number;
  /** VmHWM after the last answer. */
  peakRssKiB: number;
}

export interface Incumbent {
  run(keyNames: string[]): Promise<SidecarRun>;
  /** The binary alone: spawn → exit of `skr -h` (Go's start, the flag package's usage, exit). */
  bareStart(): Promise<number>;
}

/** `socketPath`: the simulated guest's device socket (bench/agent.ts serves it; the agent uses it too). */
export async function startIncumbent(bin: string, world: AgentWorld, socketPath: string): Promise<Incumbent> {
  // THIM's answer, as ACI hands it to the container (UVM_HOST_AMD_CERTIFICATE): the sidecar reads it at start.
  const thim = await httpRequest(new URL('/metadata/THIM/amd/certification', world.sb.thim.url), {
    headers: { Metadata: 'true' },
  });
  if (thim.status !== 200) throw new Error(`THIM answered ${thim.status}`);
  const agentEnv = world.env();
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    AZURE_CLIENT_ID: agentEnv['AZURE_CLIENT_ID']!,
    AZURE_TENANT_ID: agentEnv['AZURE_TENANT_ID']!,
    AZURE_FEDERATED_TOKEN_FILE: agentEnv['AZURE_FEDERATED_TOKEN_FILE']!,
    AZURE_AUTHORITY_HOST: agentEnv['AZURE_AUTHORITY_HOST']!,
    SSL_CERT_FILE: world.sb.caFile,
    SKR_SEV_SOCKET: socketPath,
    SKR_VAULT_RESOURCE: world.sb.vault.resource,
    UVM_HOST_AMD_CERTIFICATE: thim.body.toString('base64'),
    UVM_SECURITY_POLICY: readFileSync(testdata('snp-real/policy.base64'), 'utf8').trim(),
    // The UVM endorsement (the sidecar's fallback variable): without it Azure Attestation issues no
    // compliance status and the vault refuses the release (ADR 45), as it would the agent's.
    UVM_REFERENCE_INFO: readFileSync(
      path.join(world.sb.uvmSecurityContextDir, REFERENCE_INFO_FILE),
      'utf8',
    ).trim(),
  };
  const hostPort = (url: string) => new URL(url).host;
  // A fixed MAA user agent: without one the sidecar asks IMDS for an identity in the background at start.
  const azureInfo = Buffer.from(JSON.stringify({ maaconfig: { user_agent: 'securekey-bench' } })).toString(
    'base64',
  );

  return {
    bareStart() {
      return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(bin, ['-h'], { env, stdio: 'ignore' });
        child.on('error', reject);
        child.on('close', () => resolve(performance.now() - started));
      });
    },
    async run(keyNames) {
      const port = await freePort();
      const started = performance.now();
      const child = spawn(bin, ['-port', String(port), '-base64', azureInfo], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      try {
        await Promise.all(
          keyNames.map((kid) =>
            releaseFromSidecar(port, {
              maa_endpoint: hostPort(world.sb.maa.url),
              akv_endpoint: hostPort(world.sb.vault.url),
              kid,
            }),
          ),
        );
        const keysMs = performance.now() - started;
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const peakRssKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
        return { keysMs, peakRssKiB };
      } catch (err) {
        throw new Error(`the sidecar failed: ${(err as Error).message}\n${stderr.slice(-1500)}`, {
          cause: err,
        });
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** One `POST /key/release`, asked again while the sidecar is not listening yet; resolves with the key. */
async function releaseFromSidecar(port: number, body: Record<string, string>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await httpRequest(`http://localhost:${port}/key/release`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        deadline,
      });
      const key = (JSON.parse(res.text) as { key?: string; error?: string }).key;
      if (res.status !== 200 || key === undefined)
        throw new Error(`${res.status}: ${res.text.slice(0, 800)}`);
      return;
    } catch (err) {
      if (!(err instanceof HttpError && err.kind === 'unreachable') || Date.now() > deadline) throw err;
      await sleep(1);
    }
  }
}
