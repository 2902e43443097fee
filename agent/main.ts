/**
 * `node agent/main.ts [init] [flags]` — the SecureKey agent as a pod's first init container: attest,
 * release every configured key, write them to the tmpfs volume, exit 0. On failure it prints the step
 * error (JSON on stderr, then one line for a person) and exits 1; the kubelet retries the init
 * container. Progress is JSON lines on stderr; the result (files, key ids, timings) one JSON line on
 * stdout. Nothing printed ever holds key material or tokens.
 *
 * Start-up counts (an init container is a fresh process each time): only what every mode needs is
 * imported up front; in init mode the runtime key pair is started on libuv's pool before the rest of
 * the agent is loaded, so the two overlap (bench/README.md, "Agent").
 *
 * `node agent/main.ts node-server [flags]` is the node agent instead (ADR 39): a long-lived HTTPS server
 * on a confidential-VM node that serves the pods of its node (agent/node-server/).
 */
import { readFileSync } from 'node:fs';
import { parseAgentConfig } from './config.ts';
import { loadEagerly, NODE_CLIENT_BUILTINS } from './eager-load.ts';
import { agentErrorFields } from './errors.ts';
import { logEvents } from '../edge/log/log.ts';
import { agentLogger, failureLine } from './log.ts';
import { generateRuntimeKey } from './runtime-key.ts';
import { assertOutputInMemory, excludeMemoryFromCoreDumps } from './sink/exposure.ts';
import { Timeline } from './timeline.ts';

async function main(): Promise<number> {
  const log = agentLogger(process.stderr);
  const result = agentLogger(process.stdout);
  try {
    if (process.argv[2] === 'warm-cache') {
      // Image build only (images/images.json `warm`): load every mode's chunks as a run loads them, so
      // Node's compile cache holds what a start needs — compiled with the same V8 flags (eager-load.ts),
      // or V8 would refuse the cache. Attests nothing, reads no configuration.
      await loadEagerly(() =>
        Promise.all([
          import('./flow.ts'),
          import('./sidecar.ts'),
          import('./node/node-config.ts'),
          import('./node/node-client.ts'),
        ]),
      );
      return 0;
    }
    if (process.argv[2] === 'node') {
      // Node mode (ADR 14): the node agent attests and releases; this container only fetches and writes.
      const [{ parseNodeConfig }, { fetchFromNodeAgent }] = await loadEagerly(
        () => Promise.all([import('./node/node-config.ts'), import('./node/node-client.ts')]),
        NODE_CLIENT_BUILTINS,
      );
      const config = parseNodeConfig(process.argv.slice(2), process.env);
      assertOutputInMemory(config.outputDir, config);
      log.info('starting', {
        mode: 'node',
        nodeAgent: config.url,
        keys: config.keys,
        coreDumpsExcluded: excludeMemoryFromCoreDumps(),
      });
      const keys = await fetchFromNodeAgent(config, logEvents(log));
      result.info('ready', { keys });
      return 0;
    }
    if (process.argv[2] === 'node-server') {
      // The node agent (ADR 39): a DaemonSet on confidential-VM nodes serving the pods of its node. Keys
      // live in its memory only; nothing is written. Long-lived, so loaded as V8 likes (no eager compile).
      const [{ parseNodeServerConfig }, { startNodeAgent }] = await Promise.all([
        import('./node-server/config.ts'),
        import('./node-server/node-agent.ts'),
      ]);
      const config = parseNodeServerConfig(process.argv.slice(2), process.env);
      log.info('starting', {
        mode: 'node-server',
        node: config.nodeName,
        port: config.port,
        keySource: config.keySource,
        coreDumpsExcluded: excludeMemoryFromCoreDumps(),
      });
      const agent = await startNodeAgent(config, { env: process.env, log });
      log.info('serving', { url: agent.server.url });
      await new Promise<void>((resolve) => {
        const stop = () => void agent.stop().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      return 0;
    }
    const config = parseAgentConfig(process.argv.slice(2), process.env);
    // Before any key exists: an output directory on a disk is refused, and no core dump holds memory.
    assertOutputInMemory(config.outputDir, config);
    const coreDumpsExcluded = excludeMemoryFromCoreDumps();
    log.info('starting', {
      mode: config.mode,
      evidence: config.evidence,
      keys: config.keys.map((k) => ({
        alias: k.alias,
        vault: k.vaultUrl,
        name: k.name,
        ...(k.version === undefined ? {} : { version: k.version }),
        authority: k.attestationUrl,
        format: k.format,
        path: k.path,
      })),
      ...(config.simulators ? { simulators: true } : {}),
      coreDumpsExcluded,
    });
    if (config.mode === 'sidecar') {
      const { startSidecar } = await loadEagerly(() => import('./sidecar.ts'));
      const sidecar = await startSidecar(config, { log });
      const stop = () => void sidecar.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await sidecar.done;
      return 0;
    }
    const timeline = new Timeline();
    const runtimeKey = timeline.time('runtime-key', generateRuntimeKey);
    runtimeKey.catch(() => {}); // surfaces in runAgent
    const { runAgent } = await timeline.time('load:agent', () => loadEagerly(() => import('./flow.ts')));
    const run = await runAgent(config, { log, timeline, runtimeKey });
    // processMs: from the process's start (Node's own start-up included) to the files written; peakRssKiB:
    // the process's peak resident memory so far (bench/agent.ts compares it with the incumbent's).
    result.info('ready', { ...run, processMs: round(performance.now()), ...peakRss() });
    return 0;
  } catch (err) {
    log.error('failed', agentErrorFields(err));
    process.stderr.write(failureLine(err));
    return 1;
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * `VmHWM` of /proc/self/status (Linux), not `process.resourceUsage().maxRSS`: getrusage keeps the larger of
 * the peak before exec — the parent's, copied by fork — and after, so a child of a large process reports
 * the parent's size.
 */
function peakRss(): { peakRssKiB?: number } {
  try {
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    return Number.isFinite(kib) ? { peakRssKiB: kib } : {};
  } catch {
    return {};
  }
}

// No top-level await: the same file is the entry of the shipped CommonJS bundle (scripts/bundle-agent.ts,
// ADR 19). Failure unless main() says otherwise: should the event loop empty while main() still waits, an init
// container must not report success without its keys.
process.exitCode = 1;
void main().then((code) => {
  process.exitCode = code;
  // An idle keep-alive socket must not hold the container open; an unref'd timer only fires if something does.
  setTimeout(() => process.exit(), 1_000).unref();
});
