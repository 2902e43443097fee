import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'securekey-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('writes the bytes with exactly the mode asked for, whatever the umask', async () => {
    const file = path.join(dir, 'key');
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(file, Buffer.from('first'), { mode: 0o444 });
    } finally {
      process.umask(old);
    }
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(statSync(file).mode & 0o777).toBe(0o444);
  });

  it('replaces a read-only (0400) file in one step and leaves no temporary file', async () => {
    const file = path.join(dir, 'rotated');
    await writeFileAtomic(file, Buffer.from('v1'), { mode: 0o400 });
    const before = statSync(file).ino;
    await writeFileAtomic(file, Buffer.from('v2'), { mode: 0o400 });
    expect(readFileSync(file, 'utf8')).toBe('v2');
    expect(statSync(file).mode & 0o777).toBe(0o400);
    // A new inode: readers holding the old file keep reading v1, new opens see v2 (never a mix).
    expect(statSync(file).ino).not.toBe(before);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a failed write leaves the old file and no temporary file', async () => {
    const file = path.join(dir, 'kept');
    await writeFileAtomic(file, Buffer.from('old'), { mode: 0o400 });
    // Renaming over a directory fails after the temporary file was written.
    const target = path.join(dir, 'a-directory');
    mkdirSync(path.join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, Buffer.from('new'), { mode: 0o400 })).rejects.toMatchObject({
      code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
    });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
