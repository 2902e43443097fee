import path from 'node:path';
import { repoRoot } from '../../scripts/cluster/paths.ts';

/** Path of a real test vector under `testdata/` (each file's source and licence: `testdata/README.md`). */
export function testdata(...parts: string[]): string {
  return path.join(repoRoot, 'testdata', ...parts);
}
