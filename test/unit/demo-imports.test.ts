/** `npm run demo` is a developer tool: it loads the local cluster tool (scripts/cluster), not test helpers. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importClosure } from '../support/import-closure.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

describe('what the demo loads', () => {
  const { files } = importClosure([path.join(repoRoot, 'scripts/demo.ts')]);

  it('reaches the cluster tool (the walk works)', () => {
    expect([...files].some((f) => f.endsWith('scripts/cluster/node.ts'))).toBe(true);
  });

  it('never imports anything under test/', () => {
    expect([...files].filter((f) => f.startsWith(path.join(repoRoot, 'test') + path.sep))).toEqual([]);
  });
});
