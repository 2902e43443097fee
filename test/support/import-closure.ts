/**
 * What a process loads, statically: the modules reached from an entry by `import … from` (not
 * `import type`), the packages they name, and the packages loaded lazily by `require('<pkg>')` /
 * `await import('<pkg>')` with a literal name. Relative dynamic imports (`await import('./flow.ts')`) are
 * followed only when asked (an image must carry them; the operator's process check deliberately does not
 * count its embedded sandbox), and `skip` leaves out modules an image deliberately does not ship.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const packageOf = (spec: string): string =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;

function imports(file: string, followDynamic: boolean): { relative: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm))
    specs.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) specs.push(m[1]!);
  const lazy = [...text.matchAll(/\b(?:require|import)\('([^.'][^']*)'\)/g)].map((m) => m[1]!);
  const dynamic = followDynamic ? [...text.matchAll(/\bimport\('(\.[^']*)'\)/g)].map((m) => m[1]!) : [];
  return {
    relative: [...specs.filter((s) => s.startsWith('.')), ...dynamic],
    packages: [...specs.filter((s) => !s.startsWith('.')), ...lazy]
      .filter((s) => !s.startsWith('node:'))
      .map(packageOf),
  };
}

export function importClosure(
  entries: readonly string[],
  o: { followDynamic?: boolean; skip?: (file: string) => boolean } = {},
): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file) || o.skip?.(file)) return;
    files.add(file);
    const found = imports(file, o.followDynamic ?? false);
    for (const p of found.packages) packages.add(p);
    for (const r of found.relative) visit(path.resolve(path.dirname(file), r));
  };
  for (const entry of entries) visit(entry);
  return { files, packages };
}
