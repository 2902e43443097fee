/**
 * The two ways released key material could reach a disk other than through the sink, closed before the
 * agent holds a key (main.ts calls both first): an output directory that is not in memory, and a core
 * dump of the agent's memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AGENT_OPTIONS } from '../../core/inject/agent-contract.ts';
import { AgentError } from '../errors.ts';

/** statfs(2) f_type of the in-memory filesystems (linux/magic.h); an emptyDir with medium Memory is tmpfs. */
export const TMPFS_MAGIC = 0x01021994;
export const RAMFS_MAGIC = 0x858458f6;

/**
 * Throws unless `dir` (or, before the agent creates it, its nearest existing ancestor) is on tmpfs or
 * ramfs. `allowDiskOutput`: the escape hatch for tests and the sandbox on hosts without tmpfs — never set by
 * the injector.
 */
export function assertOutputInMemory(dir: string, o: { allowDiskOutput: boolean }): void {
  if (o.allowDiskOutput) return;
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const { type } = fs.statfsSync(existing);
  if (type === TMPFS_MAGIC || type === RAMFS_MAGIC) return;
  throw new AgentError(
    'output-on-disk',
    `the output directory ${dir} is not in memory (filesystem type 0x${type.toString(16)}): keys are written to tmpfs only`,
    {
      step: 'config',
      endpoint: dir,
      hint: `mount an emptyDir with medium: Memory there (the injector does); ${AGENT_OPTIONS.allowDiskOutput.flag} is for tests only`,
    },
  );
}

/**
 * Excludes every memory mapping from a core dump of this process and of the children it starts (the
 * native helper inherits the filter): 0 in /proc/self/coredump_filter clears all its bits (anonymous,
 * file-backed, ELF headers, huge pages, DAX), so a dump keeps only the register notes. Node offers
 * neither prctl(PR_SET_DUMPABLE) nor setrlimit(RLIMIT_CORE), and Kubernetes has no rlimit field; this
 * file is the process's own to write, read-only root filesystem or not.
 *
 * Returns false where the kernel has no such file (not Linux, or a sandbox kernel without it); any
 * other failure is an AgentError, since the agent must not go on to hold a key.
 */
export function excludeMemoryFromCoreDumps(file = '/proc/self/coredump_filter'): boolean {
  try {
    fs.writeFileSync(file, '0');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new AgentError(
      'core-dumps-enabled',
      `cannot exclude memory from core dumps (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { step: 'config', endpoint: file, cause: err },
    );
  }
}
