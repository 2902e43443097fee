/**
 * ADR 12: the operator process must not load client-node (~55 MiB resident) or the simulators. Walks
 * the static imports from operator/main.ts; dynamic `await import(...)` (the embedded sandbox) is
 * deliberately not followed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths.ts';

function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm))
    specs.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) specs.push(m[1]!);
  return specs;
}

function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('what the operator process loads', () => {
  const { files, packages } = closure(path.join(repoRoot, 'operator/main.ts'));

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
