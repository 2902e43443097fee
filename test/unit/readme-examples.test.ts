/**
 * Every `npm run securekey -- …` example in the README runs as written (placeholders such as `<image>`
 * filled in) and succeeds, so the README cannot name a file or flag that does not exist.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/securekey.ts';
import { repoRoot } from '../../scripts/cluster/paths.ts';

const readme = readFileSync(`${repoRoot}/README.md`, 'utf8');
const examples = [...readme.matchAll(/^npm run securekey -- (.+)$/gm)].map((m) => m[1]!.trim());

describe('README examples of the securekey CLI', () => {
  it('lists some', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples)('%s', async (example) => {
    const argv = example.replace(/<image>/g, 'registry.example/securekey-agent:1').split(/\s+/);
    let err = '';
    const cwd = process.cwd();
    process.chdir(repoRoot); // the README's paths are relative to the repository
    try {
      const code = await main(argv, { out: () => {}, err: (t) => void (err += t) });
      expect({ code, err }).toEqual({ code: 0, err: expect.any(String) as string });
    } finally {
      process.chdir(cwd);
    }
  });
});
