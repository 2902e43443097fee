/**
 * What the start-up benchmarks share: quantiles and rounding, and a process timed from spawn to the lines
 * that mark its progress.
 */
import { spawn } from 'node:child_process';

/** Linear interpolation between the closest ranks; NaN samples are left out. */
export const quantile = (xs: number[], q: number): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
};
export const r1 = (x: number) => Math.round(x * 10) / 10;
export const r2 = (x: number) => Math.round(x * 100) / 100;

export interface TimedRun {
  /** Parent's clock: spawn → the first stdout line holding `"msg":"ready"`. */
  readyMs: number;
  /** Parent's clock: spawn → the first stderr line holding `"msg":"starting"` (the agent's modules loaded). */
  startingMs: number;
  /** Parent's clock: spawn → process exited. */
  exitMs: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Spawns Node with `argv` and exactly `env`; times the agent's `starting` and `ready` lines and the exit. */
export function timedSpawn(argv: string[], env: Record<string, string>): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let readyMs = Number.NaN;
    let startingMs = Number.NaN;
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (Number.isNaN(readyMs) && stdout.includes('"msg":"ready"')) readyMs = performance.now() - started;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (Number.isNaN(startingMs) && stderr.includes('"msg":"starting"')) {
        startingMs = performance.now() - started;
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ readyMs, startingMs, exitMs: performance.now() - started, stdout, stderr, code }),
    );
  });
}

/** Node itself, the floor of any agent: `node -e` printing one `ready` line and nothing else. */
export const BARE_NODE_ARGV = ['-e', 'process.stdout.write(\'{"msg":"ready"}\\n\')'];
