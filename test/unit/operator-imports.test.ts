/**
 * ADR 12: the operator process loads no generated Kubernetes client (client-node cost ~55 MiB resident;
 * edge/kube is its client) and not the simulators. Walks the static imports from operator/main.ts;
 * dynamic `await import(...)` (the embedded sandbox) is deliberately not followed.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importClosure } from '../support/import-closure.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

describe('what the operator process loads', () => {
  const { files, packages } = importClosure([path.join(repoRoot, 'operator/main.ts')]);

  it('reaches the operator code and its Kubernetes client (the walk works)', () => {
    expect([...files].some((f) => f.endsWith('operator/controller/secure-key-controller.ts'))).toBe(true);
    expect([...files].some((f) => f.endsWith('edge/kube/informer.ts'))).toBe(true);
    // The Azure SDK loads lazily (edge/azure/clients.ts): reaching that module is what counts.
    expect([...files].some((f) => f.endsWith('edge/azure/clients.ts'))).toBe(true);
  });

  it('never statically imports a Kubernetes client package or the simulators', () => {
    expect([...packages].filter((p) => p.startsWith('@kubernetes/'))).toEqual([]);
    expect([...files].filter((f) => f.includes(`${path.sep}sim${path.sep}`))).toEqual([]);
  });
});
