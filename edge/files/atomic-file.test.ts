import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync, type AtomicWriteOptions } from './atomic-file.ts';

const root = mkdtempSync(path.join(tmpdir(), 'securekey-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Write = (target: string, data: string | Uint8Array, o: AtomicWriteOptions) => Promise<void>;

// The agent's form and the simulators' form keep the same promises.
describe.each<[string, Write]>([
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (...args) => writeFileAtomicSync(...args)],
])('%s', (name, write) => {
  const dir = path.join(root, name);
  mkdirSync(dir);
  const temporaryFiles = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

  it('writes the bytes with exactly the mode asked for, whatever the umask', async () => {
    const file = path.join(dir, 'key');
    const old = process.umask(0o077);
    try {
      await write(file, Buffer.from('first'), { mode: 0o444 });
    } finally {
      process.umask(old);
    }
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(statSync(file).mode & 0o777).toBe(0o444);
  });

  it('writes text as UTF-8 (the simulators’ JSON state)', async () => {
    const file = path.join(dir, 'state.json');
    await write(file, JSON.stringify({ name: 'é' }), { mode: 0o600 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ name: 'é' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('replaces a read-only (0400) file in one step and leaves no temporary file', async () => {
    const file = path.join(dir, 'rotated');
    await write(file, Buffer.from('v1'), { mode: 0o400 });
    const before = statSync(file).ino;
    await write(file, Buffer.from('v2'), { mode: 0o400 });
    expect(readFileSync(file, 'utf8')).toBe('v2');
    expect(statSync(file).mode & 0o777).toBe(0o400);
    // A new inode: readers holding the old file keep reading v1, new opens see v2 (never a mix).
    expect(statSync(file).ino).not.toBe(before);
    expect(temporaryFiles()).toEqual([]);
  });

  it('a temporary file a crash left behind does not stop the next write', async () => {
    const file = path.join(dir, 'after-crash');
    const stale = path.join(dir, `.after-crash.${process.pid}.000000000000.tmp`);
    await write(stale, 'half', { mode: 0o600 });
    await write(file, 'whole', { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('whole');
    rmSync(stale);
  });

  it('a failed rename leaves the old file and no temporary file', async () => {
    const file = path.join(dir, 'kept');
    await write(file, Buffer.from('old'), { mode: 0o400 });
    // Renaming over a directory fails after the temporary file was written.
    const target = path.join(dir, 'a-directory');
    mkdirSync(path.join(target, 'child'), { recursive: true });
    await expect(write(target, Buffer.from('new'), { mode: 0o400 })).rejects.toMatchObject({
      code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
    });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(temporaryFiles()).toEqual([]);
  });

  it('a failed write (the owner cannot be set) leaves no temporary file', async () => {
    const file = path.join(dir, 'owned');
    // No uid is 2^32: the chown fails after the temporary file was created, as root or not.
    const owner = { uid: 2 ** 32, gid: 0 };
    await expect(write(file, 'x', { mode: 0o400, owner })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    expect(readdirSync(dir)).not.toContain('owned');
    expect(temporaryFiles()).toEqual([]);
  });
});
