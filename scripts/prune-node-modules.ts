#!/usr/bin/env node
/**
 * Keeps in a production node_modules only what an image's packages need: those packages and, resolved the
 * way Node resolves them (the package's own node_modules, then each parent's), their dependencies,
 * optional and peer dependencies, transitively. Everything else at the top level goes. Used by
 * scripts/build-images.sh and images/Dockerfile, with each image's `packages` from images/images.json.
 *
 *   node scripts/prune-node-modules.ts <node_modules> <package> [package …]
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const [root, ...wanted] = process.argv.slice(2);
if (!root || wanted.length === 0) {
  process.stderr.write('usage: prune-node-modules.ts <node_modules> <package> [package …]\n');
  process.exit(2);
}
const top = path.resolve(root);

/** Where `name` resolves from inside `dir` (a package directory), or undefined. */
function resolve(name: string, dir: string): string | undefined {
  for (let d = dir; d.startsWith(top); d = path.dirname(d)) {
    const candidate = path.join(d === top ? top : path.join(d, 'node_modules'), name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (d === top) break;
  }
  return undefined;
}

const keep = new Set<string>();
const visit = (dir: string) => {
  if (keep.has(dir)) return;
  keep.add(dir);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const optional = new Set(Object.keys((manifest['optionalDependencies'] as object | undefined) ?? {}));
  const peers = Object.keys((manifest['peerDependencies'] as object | undefined) ?? {});
  for (const dep of [
    ...Object.keys((manifest['dependencies'] as object | undefined) ?? {}),
    ...optional,
    ...peers,
  ]) {
    const found = resolve(dep, dir);
    if (found) visit(found);
    else if (!optional.has(dep) && !peers.includes(dep))
      throw new Error(`${dir}: dependency ${dep} is not installed`);
  }
};
for (const name of wanted) {
  const found = resolve(name, top);
  if (!found) throw new Error(`${name} is not in ${top}`);
  visit(found);
}

// Top-level entries (scoped ones one level down) that nothing kept lives in.
let removed = 0;
for (const entry of readdirSync(top)) {
  if (entry.startsWith('.')) continue;
  const dirs = entry.startsWith('@')
    ? readdirSync(path.join(top, entry)).map((e) => path.join(top, entry, e))
    : [path.join(top, entry)];
  for (const dir of dirs) {
    if (![...keep].some((k) => k === dir || k.startsWith(dir + path.sep))) {
      rmSync(dir, { recursive: true, force: true });
      removed++;
    }
  }
  if (entry.startsWith('@') && readdirSync(path.join(top, entry)).length === 0)
    rmSync(path.join(top, entry), { recursive: true });
}
rmSync(path.join(top, '.bin'), { recursive: true, force: true });
process.stdout.write(`kept ${keep.size} packages for ${wanted.join(', ')}; removed ${removed}\n`);
