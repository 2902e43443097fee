import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths.ts';

/**
 * The directory holding the upstream binaries, building what is missing with scripts/setup-k8s.sh
 * (instant when cached). `SECUREKEY_K8S_BIN` points at a directory that already has them.
 */
export function ensureBinaries(components: string[]): string {
  const preset = process.env['SECUREKEY_K8S_BIN'];
  if (preset) return preset;
  const out = execFileSync(path.join(repoRoot, 'scripts/setup-k8s.sh'), components, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error('scripts/setup-k8s.sh printed no bin directory');
  return dir;
}
