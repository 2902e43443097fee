#!/usr/bin/env node
/**
 * `npm start`: the SecureKey operator against the current kubeconfig. Configuration is the environment
 * (operator/config.ts). With no Azure identity configured it embeds the sandbox — simulated Managed HSM,
 * Attestation and Entra on fixed loopback ports — and says so on every start.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { workloadIdentityCredential } from '../edge/azure/index.ts';
// The one sanctioned crossing: `npm start` with no Azure identity embeds the sandbox (loaded below only then).
// eslint-disable-next-line no-restricted-imports
import type { Sandbox } from '../sim/sandbox/sandbox.ts';
import { ConfigError, parseConfig } from './config.ts';
import { createLogger, parseLevel } from '../edge/log/log.ts';
import { startOperator, type RunningOperator } from './operator.ts';

let config;
let level;
try {
  config = parseConfig(process.env);
  level = parseLevel(config.logLevel);
} catch (err) {
  const hint = err instanceof ConfigError && err.hint ? `\n  hint: ${err.hint}` : '';
  process.stderr.write(`securekey-operator: ${(err as Error).message}${hint}\n`);
  process.exit(2);
}
const log = createLogger({ level, component: 'operator' });

let sandbox: Sandbox | undefined;
let refresh: NodeJS.Timeout | undefined;
let operator: RunningOperator;
try {
  if (config.identity.type === 'sandbox') {
    // Loaded only here: the simulators (and what they import) are no part of a production operator —
    // nor of its image, which does not carry them.
    const sandboxModules = await Promise.all([
      import('../sim/sandbox/sandbox.ts'),
      import('../sim/sandbox/identities.ts'),
    ]).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      throw new ConfigError(
        'missing',
        'no Azure identity is configured and this installation has no embedded simulators (the operator image does not carry them)',
        {
          hint: 'set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (workload identity), or install the chart with simulators.enabled',
        },
      );
    });
    const [{ startSandbox }, { writeTokenFiles }] = sandboxModules;
    const dir =
      config.identity.dir ?? path.join(process.env['XDG_RUNTIME_DIR'] ?? tmpdir(), 'securekey-sandbox');
    sandbox = await startSandbox({
      dir,
      persist: true,
      ports: { vault: config.identity.vaultPort, maa: config.identity.maaPort },
    });
    const sb = sandbox;
    // Projected tokens live an hour; keep the files fresh as kubelet would.
    refresh = setInterval(() => writeTokenFiles(sb.identity, dir), 30 * 60_000);
    refresh.unref();
    const env = sb.env('operator');
    log.warn('no Azure identity configured: using the embedded sandbox (SIMULATORS, not Azure)', {
      vault: sb.vault.url,
      attestation: sb.maa.url,
      ca: sb.caFile,
      state: dir,
    });
    operator = await startOperator({
      config,
      log,
      caPem: sb.ca.certPem,
      credential: workloadIdentityCredential({
        tenantId: env['AZURE_TENANT_ID']!,
        clientId: env['AZURE_CLIENT_ID']!,
        tokenFilePath: env['AZURE_FEDERATED_TOKEN_FILE']!,
        authorityHost: env['AZURE_AUTHORITY_HOST']!,
        caPem: sb.ca.certPem,
      }),
    });
  } else {
    operator = await startOperator({ config, log });
  }
} catch (err) {
  log.error('operator failed to start', { error: err });
  await sandbox?.close();
  process.exit(1);
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) {
    log.warn('second signal: exiting now', { signal });
    process.exit(1);
  }
  stopping = true;
  log.info('signal received', { signal });
  const deadline = setTimeout(() => {
    log.error('graceful shutdown took too long; exiting');
    process.exit(1);
  }, 25_000);
  deadline.unref();
  await operator.stop();
  clearInterval(refresh);
  await sandbox?.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
