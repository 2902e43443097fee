/**
 * The layer rules of eslint.config.js refuse an import that crosses a layer: each case lints a one-line
 * deliberate violation as if it stood in the named file, and the same line where it is allowed.
 */
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/paths.ts';

const eslint = new ESLint({ cwd: repoRoot });

async function crossings(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = x;\n`, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  // Loading the config and the TypeScript parser takes seconds on a cold, busy machine.
  beforeAll(() => eslint.lintText('', { filePath: 'core/x.ts' }), 60_000);

  it.each([
    ['core/snp/x.ts', "import { x } from '../../edge/azure/index.ts';"],
    ['core/snp/x.ts', "import { x } from '../../operator/config.ts';"],
    ['core/snp/x.ts', "import { readFileSync as x } from 'node:fs';"],
    ['core/snp/x.ts', "import { request as x } from 'node:https';"],
    ['edge/kube/x.ts', "import { x } from '../../operator/config.ts';"],
    ['edge/kube/x.ts', "import { x } from '../../test/support/paths.ts';"],
    ['agent/x.ts', "import { x } from '../operator/config.ts';"],
    ['agent/x.ts', "import { x } from '../sim/amd/index.ts';"],
    ['operator/x.ts', "import { x } from '../agent/config.ts';"],
    ['cli/x.ts', "import { x } from '../sim/amd/index.ts';"],
    ['sim/vault/x.ts', "import { x } from '../../agent/config.ts';"],
    ['sim/vault/x.ts', "import { x } from '../../operator/config.ts';"],
    ['sim/amd/x.ts', "import { x } from '../../test/support/snp.ts';"], // product code never uses test support
  ])('%s: %s is refused', async (file, code) => {
    expect(await crossings(file, code)).toEqual([expect.stringMatching(/crosses a layer|does no I\/O/)]);
  });

  it.each([
    ['edge/kube/x.ts', "import { x } from '../../core/errors.ts';"],
    ['edge/kube/x.ts', "import { readFileSync as x } from 'node:fs';"],
    ['agent/x.ts', "import { x } from '../edge/azure/index.ts';"],
    ['sim/vault/x.ts', "import { x } from '../../core/errors.ts';"],
    ['agent/flow.component.test.ts', "import { x } from '../sim/amd/index.ts';"], // specs may use the simulators
    ['test/support/agent/x.ts', "import { x } from '../../../sim/amd/index.ts';"],
    ['bench/x.ts', "import { x } from '../operator/config.ts';"],
  ])('%s: %s is allowed', async (file, code) => {
    expect(await crossings(file, code)).toEqual([]);
  });
});
