/**
 * Writing a key file so that a reader sees the old file or the new one, never a part: write a
 * temporary file in the same directory (same filesystem, so rename is atomic), fsync it, rename it
 * over the target, then fsync the directory so the rename itself is durable. The temporary file is
 * created with the final mode (0400) — there is no moment at which the key is readable by others.
 */
import crypto from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  mode: number;
  /** Owner to give the file (needs CAP_CHOWN unless it is the agent's own uid). */
  owner?: { uid: number; gid: number };
}

export async function writeFileAtomic(
  target: string,
  data: Uint8Array,
  o: AtomicWriteOptions,
): Promise<void> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', o.mode);
  try {
    try {
      await file.writeFile(data);
      if (o.owner) await file.chown(o.owner.uid, o.owner.gid);
      // The umask may have narrowed the mode; 0400 is what was asked for.
      await file.chmod(o.mode);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename has happened either way.
  } finally {
    await handle.close();
  }
}
