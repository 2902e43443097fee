/**
 * ADR 12: the operator process must not load client-node (~55 MiB resident) or the simulators. Walks
 * the static imports from operator/main.ts; dynamic `await import(...)` (the embedded sandbox) is
 * deliberately not followed.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importClosure } from '../support/import-closure.ts';
import { repoRoot } from '../support/paths.ts';

describe('what the operator process loads', () => {
  const { files, packages } = importClosure([path.join(repoRoot, 'operator/main.ts')]);

  it('reaches the operator code (the walk works)', () => {
    expect([...files].some((f) => f.endsWith('operator/controller/secure-key-controller.ts'))).toBe(true);
    // The Azure SDK loads lazily (edge/azure/clients.ts): reaching that module is what counts.
    expect([...files].some((f) => f.endsWith('edge/azure/clients.ts'))).toBe(true);
  });

  it('never statically imports client-node or the simulators', () => {
    expect(packages).not.toContain('@kubernetes/client-node');
    expect([...files].filter((f) => f.includes(`${path.sep}sim${path.sep}`))).toEqual([]);
  });
});
