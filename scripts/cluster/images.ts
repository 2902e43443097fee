/**
 * The project's images for the local cluster: scripts/build-images.sh (buildah, no registry) into the
 * cache, as docker-archive files containerd imports. Returns each image's archive and reference.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths.ts';

export type ImageName = 'operator' | 'agent' | 'simulators';

export function buildImages<N extends ImageName>(
  names: readonly N[],
): Record<N, { archive: string; ref: string }> {
  const cache = path.join(
    process.env['SECUREKEY_CACHE'] ?? path.join(homedir(), '.cache/securekey'),
    'images',
  );
  mkdirSync(cache, { recursive: true });
  const out = execFileSync(
    'bash',
    [path.join(repoRoot, 'scripts/build-images.sh'), ...names, '--out', cache],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const built = {} as Record<N, { archive: string; ref: string }>;
  // One line per image: "<archive> <ref> <size>".
  for (const line of out.trim().split('\n')) {
    const [archive, ref] = line.split(' ');
    const name = names.find((n) => archive?.endsWith(`/${n}.tar`));
    if (name && archive && ref) built[name] = { archive, ref };
  }
  for (const n of names) if (!built[n]) throw new Error(`scripts/build-images.sh did not build ${n}`);
  return built;
}
