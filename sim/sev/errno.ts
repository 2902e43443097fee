/**
 * Linux errno values (asm-generic/errno-base.h, errno.h). Fixed numbers rather than
 * `os.constants.errno`, because the device protocol carries Linux numbers whatever the host OS.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ENOTEMPTY: 39,
  EPROTO: 71,
  ETIMEDOUT: 110,
} as const;

export type ErrnoCode = keyof typeof ERRNO;

const DESCRIPTIONS: Readonly<Record<ErrnoCode, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'i/o error',
  ENXIO: 'no such device or address',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'not enough memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address in system call argument',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EINVAL: 'invalid argument',
  ENOTTY: 'inappropriate ioctl for device',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  ENOTEMPTY: 'directory not empty',
  EPROTO: 'protocol error',
  ETIMEDOUT: 'connection timed out',
};

export function errnoCode(errno: number): ErrnoCode | undefined {
  return (Object.keys(ERRNO) as ErrnoCode[]).find((k) => ERRNO[k] === errno);
}

/** An error shaped like the ones node:fs throws (`code`, negative `errno`, `syscall`, `path`). */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

export function systemError(code: ErrnoCode, syscall: string, path?: string, detail?: string): SystemError {
  const where = path === undefined ? syscall : `${syscall} '${path}'`;
  const err = new Error(
    `${code}: ${DESCRIPTIONS[code]}, ${where}${detail ? ` (${detail})` : ''}`,
  ) as SystemError;
  err.code = code;
  err.errno = -ERRNO[code];
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

/** The errno of an error thrown by node:fs or by the fakes, if it has one. */
export function errnoOf(err: unknown): ErrnoCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in ERRNO ? (code as ErrnoCode) : undefined;
}
