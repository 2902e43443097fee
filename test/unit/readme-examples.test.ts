/**
 * Every `npm run securekey -- …` example in the README runs as written (placeholders such as `<image>`
 * filled in) and succeeds, so the README cannot name a file or flag that does not exist. The examples
 * run in order in a scratch directory where the repository's files are linked, so one may use a file an
 * earlier one wrote (the CI example: a key, then the manifests signed with it) and none writes into the
 * repository.
 */
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/securekey.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

const readme = readFileSync(`${repoRoot}/README.md`, 'utf8');
const examples = [...readme.matchAll(/^npm run securekey -- (.+)$/gm)].map((m) => m[1]!.trim());

const scratch = mkdtempSync(path.join(tmpdir(), 'sk-readme-'));
for (const entry of readdirSync(repoRoot)) symlinkSync(path.join(repoRoot, entry), path.join(scratch, entry));

describe('README examples of the securekey CLI', () => {
  it('lists some', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples)('%s', async (example) => {
    const argv = example.replace(/<image>/g, 'registry.example/securekey-agent:1').split(/\s+/);
    let err = '';
    const cwd = process.cwd();
    process.chdir(scratch); // the README's paths are relative to the repository
    try {
      const code = await main(argv, { out: () => {}, err: (t) => void (err += t) });
      expect({ code, err }).toEqual({ code: 0, err: expect.any(String) as string });
    } finally {
      process.chdir(cwd);
    }
  });
});
