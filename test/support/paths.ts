import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Path of a real test vector under `testdata/` (each file's source and licence: `testdata/README.md`). */
export function testdata(...parts: string[]): string {
  return path.join(repoRoot, 'testdata', ...parts);
}
