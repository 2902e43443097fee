import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The team's shared folder (research, real test vectors) sits beside the repository, locally and in
 * CI (`SECUREKEY_SHARED_DIR` overrides it).
 */
export const sharedDir = process.env['SECUREKEY_SHARED_DIR'] ?? path.resolve(repoRoot, '../shared');

/** Path of a file under `shared/testdata/`. */
export function testdata(...parts: string[]): string {
  return path.join(sharedDir, 'testdata', ...parts);
}
