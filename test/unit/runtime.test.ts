import { describe, expect, it } from 'vitest';

// The project targets Node 24 LTS; `npm ci` installs it (devDependency `node`) so that every npm
// script, and so every test, runs on it even where the machine's own Node is older.
describe('runtime', () => {
  it('runs on Node 24 or later', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(24);
  });
});
