import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/paths.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'prune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pkg(at: string, deps: Record<string, string> = {}, extra: Record<string, unknown> = {}): void {
  mkdirSync(at, { recursive: true });
  writeFileSync(
    path.join(at, 'package.json'),
    JSON.stringify({ name: path.basename(at), dependencies: deps, ...extra }),
  );
}

const prune = (root: string, ...packages: string[]) =>
  execFileSync(
    path.join(repoRoot, 'node_modules/.bin/node'),
    [path.join(repoRoot, 'scripts/prune-node-modules.ts'), root, ...packages],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );

describe('scripts/prune-node-modules.ts', () => {
  it('keeps the packages, what they resolve to as Node would (nested first), optional and peer deps; drops the rest', () => {
    const nm = path.join(dir, 'a', 'node_modules');
    pkg(
      path.join(nm, 'app-sdk'),
      { core: '1', shared: '2' },
      { optionalDependencies: { 'not-installed': '1' } },
    );
    pkg(path.join(nm, 'app-sdk', 'node_modules', 'shared')); // nested v2: resolves before the top-level one
    pkg(path.join(nm, 'core'), {}, { peerDependencies: { '@scope/peer': '1' } });
    pkg(path.join(nm, '@scope', 'peer'));
    pkg(path.join(nm, '@scope', 'unused'));
    pkg(path.join(nm, 'shared')); // top-level v1: nothing kept needs it
    pkg(path.join(nm, 'big-unused'), { core: '1' });
    mkdirSync(path.join(nm, '.bin'));
    expect(prune(nm, 'app-sdk')).toContain('kept 4 packages for app-sdk');
    for (const kept of ['app-sdk', 'app-sdk/node_modules/shared', 'core', '@scope/peer'])
      expect(existsSync(path.join(nm, kept)), kept).toBe(true);
    for (const gone of ['shared', 'big-unused', '@scope/unused', '.bin'])
      expect(existsSync(path.join(nm, gone)), gone).toBe(false);
  });

  it('fails, naming it, when a required dependency is missing or the package is not installed', () => {
    const nm = path.join(dir, 'b', 'node_modules');
    pkg(path.join(nm, 'app-sdk'), { missing: '1' });
    expect(() => prune(nm, 'app-sdk')).toThrow(/dependency missing is not installed/);
    expect(() => prune(nm, 'nope')).toThrow(/nope is not in/);
  });
});
