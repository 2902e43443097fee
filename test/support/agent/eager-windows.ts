/**
 * Reading the eager-window hook (eager-window.ts) from a test: the Node arguments that install it, and the
 * windows a run's stderr reports.
 */
import path from 'node:path';
import { repoRoot } from '../../../scripts/cluster/paths.ts';

/** Node arguments before the bundle's main.cjs. */
export const EAGER_WINDOW = ['--import', path.join(repoRoot, 'test/support/agent/eager-window.ts')];

/** The `{"eagerWindow":[…]}` lines of a run's stderr: Node modules first loaded under `--no-lazy`. */
export const eagerWindows = (stderr: string): string[][] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"eagerWindow"'))
    .map((l) => (JSON.parse(l) as { eagerWindow: string[] }).eagerWindow);
