/**
 * The five filesystem operations configfs-tsm needs (Documentation/ABI/testing/configfs-tsm):
 * create an entry, write `inblob`/`privlevel`, read `outblob`/`auxblob`/`generation`, remove the
 * entry. `node:fs/promises` satisfies this type, so code written against it runs unchanged on the
 * real `/sys/kernel/config/tsm/report` or on the simulator (in-process or over the device socket).
 * Failures are errors with a Linux errno `code` (EBUSY, EINVAL, ...), as node:fs throws them.
 */
export interface TsmFilesystem {
  mkdir(path: string): Promise<unknown>;
  rmdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
}

/** Where the kernel mounts the report interface. */
export const TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report';
