/**
 * Writing a file so that a reader — or the next start after a crash — sees the old file or the new one,
 * never a part: write a temporary file in the same directory (same filesystem, so rename is atomic),
 * fsync it, rename it over the target, then fsync the directory so the rename itself is durable. The
 * temporary file is created with the final mode, so there is no moment at which a key is readable by
 * others, and it is removed whenever the write fails.
 *
 * Two forms of the one sequence: `writeFileAtomic` for the agent's key files (async: the sidecar keeps
 * serving while it writes), `writeFileAtomicSync` for the simulators' state and signing keys (written
 * from synchronous code paths). Node built-ins only: the agent's bundle may load nothing else.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** The file's mode, exactly: applied after creation, so the umask cannot narrow it. */
  mode: number;
  /** Owner to give the file (needs CAP_CHOWN unless it is the writer's own uid). */
  owner?: { uid: number; gid: number };
}

/** A fresh hidden name beside `target`; `wx` on it fails rather than reuse another writer's file. */
function temporaryPath(target: string): string {
  const name = `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  return path.join(path.dirname(target), name);
}

export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  o: AtomicWriteOptions,
): Promise<void> {
  const temp = temporaryPath(target);
  const file = await open(temp, 'wx', o.mode);
  try {
    try {
      await file.writeFile(data);
      if (o.owner) await file.chown(o.owner.uid, o.owner.gid);
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
  const dir = await open(path.dirname(target), 'r');
  try {
    await dir.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename has happened either way.
  } finally {
    await dir.close();
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array, o: AtomicWriteOptions): void {
  const temp = temporaryPath(target);
  const fd = fs.openSync(temp, 'wx', o.mode);
  try {
    try {
      fs.writeFileSync(fd, data);
      if (o.owner) fs.fchownSync(fd, o.owner.uid, o.owner.gid);
      fs.fchmodSync(fd, o.mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  const dir = fs.openSync(path.dirname(target), 'r');
  try {
    fs.fsyncSync(dir);
  } catch {
    // As above: best effort.
  } finally {
    fs.closeSync(dir);
  }
}
