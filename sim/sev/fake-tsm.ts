/**
 * configfs-tsm's report interface for an SEV-SNP guest, modelled on drivers/virt/coco/tsm.c and the
 * `sev_guest` provider (`sev_report_new` in sev-guest.c):
 *   - `mkdir report/<name>` creates an entry with the attributes `generation`, `provider`,
 *     `privlevel` (WO), `privlevel_floor`, `inblob` (WO, at most 64 bytes), `outblob`, `auxblob`;
 *   - every write to `inblob` or `privlevel` increments `generation`;
 *   - reading `outblob` or `auxblob` generates the report for the current inblob and privlevel once
 *     per generation (an extended request: the report, and the GHCB certificate table as auxblob);
 *   - a reader compares `generation` with the writes it made to notice a concurrent writer.
 * Errors follow the kernel: EINVAL for no inblob or one that is not 64 bytes, EFBIG for a longer
 * inblob, EINVAL for a bad privlevel, ENXIO with no provider or a non-zero firmware status other
 * than INVALID_PARAM/INVALID_KEY, EACCES for the wrong access mode, and the request path's errors
 * (EBUSY when throttled, EIO for a firmware error, ENOTTY once the VMPCK is wiped).
 */
import path from 'node:path';
import { encodeReportReq, decodeReportRsp, SEV_FW_BLOB_MAX_SIZE, SEV_RET } from './abi.ts';
import { systemError, type ErrnoCode } from './errno.ts';
import type { GuestRequestChannel } from './guest-channel.ts';
import { TSM_REPORT_ROOT, type TsmFilesystem } from './tsm-filesystem.ts';

/** The attributes the sev_guest provider shows without an SVSM, in the kernel's order. */
export const TSM_ATTRIBUTES = [
  'generation',
  'provider',
  'privlevel',
  'privlevel_floor',
  'inblob',
  'outblob',
  'auxblob',
] as const;
export type TsmAttribute = (typeof TSM_ATTRIBUTES)[number];

const WRITE_ONLY: readonly string[] = ['privlevel', 'inblob'];
/** TSM_INBLOB_MAX. */
export const TSM_INBLOB_MAX = 64;
const PRIVLEVEL_MAX = 3;

export interface FakeTsmOptions {
  /** Where the fake is "mounted"; default /sys/kernel/config/tsm/report. */
  readonly root?: string;
  /** `null` simulates a kernel where no TSM provider registered (mkdir fails with ENXIO). */
  readonly provider?: 'sev_guest' | null;
}

interface Entry {
  inblob: Buffer;
  privlevel: number;
  writeGeneration: number;
  readGeneration: number;
  outblob: Buffer | undefined;
  auxblob: Buffer | undefined;
}

type Resolved =
  | { kind: 'parent' }
  | { kind: 'root' }
  | { kind: 'entry'; name: string; entry: Entry | undefined }
  | { kind: 'attribute'; name: string; entry: Entry | undefined; attribute: string }
  | { kind: 'none' };

export class FakeTsmReportSubsystem implements TsmFilesystem {
  readonly channel: GuestRequestChannel;
  readonly root: string;
  readonly provider: 'sev_guest' | null;
  readonly stats = { entriesCreated: 0, reportsGenerated: 0 };
  readonly #entries = new Map<string, Entry>();

  constructor(channel: GuestRequestChannel, options: FakeTsmOptions = {}) {
    this.channel = channel;
    this.root = path.posix.normalize(options.root ?? TSM_REPORT_ROOT).replace(/\/$/, '');
    this.provider = options.provider === undefined ? 'sev_guest' : options.provider;
  }

  /** Names of the current entries. */
  get entryNames(): string[] {
    return [...this.#entries.keys()];
  }

  #resolve(p: string): Resolved {
    const normal = path.posix.normalize(p).replace(/(.)\/$/, '$1');
    if (normal === this.root) return { kind: 'root' };
    if (normal === path.posix.dirname(this.root)) return { kind: 'parent' };
    const rel = path.posix.relative(this.root, normal);
    if (rel === '' || rel.startsWith('..') || path.posix.isAbsolute(rel)) return { kind: 'none' };
    const parts = rel.split('/');
    const name = parts[0]!;
    const entry = this.#entries.get(name);
    if (parts.length === 1) return { kind: 'entry', name, entry };
    if (parts.length === 2) return { kind: 'attribute', name, entry, attribute: parts[1]! };
    return { kind: 'none' };
  }

  async mkdir(p: string): Promise<undefined> {
    const r = this.#resolve(p);
    if (r.kind === 'root' || r.kind === 'parent') throw systemError('EEXIST', 'mkdir', p);
    if (r.kind === 'attribute') {
      throw systemError(
        r.entry ? 'EPERM' : 'ENOENT',
        'mkdir',
        p,
        r.entry ? 'a report entry holds no directories' : undefined,
      );
    }
    if (r.kind !== 'entry') throw systemError('ENOENT', 'mkdir', p);
    if (r.entry) throw systemError('EEXIST', 'mkdir', p);
    if (this.provider === null) throw systemError('ENXIO', 'mkdir', p, 'no TSM provider registered');
    this.#entries.set(r.name, {
      inblob: Buffer.alloc(0),
      privlevel: 0,
      writeGeneration: 0,
      readGeneration: 0,
      outblob: undefined,
      auxblob: undefined,
    });
    this.stats.entriesCreated++;
    return undefined;
  }

  async rmdir(p: string): Promise<void> {
    const r = this.#resolve(p);
    if (r.kind === 'root' || r.kind === 'parent') throw systemError('EPERM', 'rmdir', p);
    if (r.kind === 'attribute' && r.entry && (TSM_ATTRIBUTES as readonly string[]).includes(r.attribute)) {
      throw systemError('ENOTDIR', 'rmdir', p);
    }
    if (r.kind !== 'entry' || !r.entry) throw systemError('ENOENT', 'rmdir', p);
    this.#entries.delete(r.name);
  }

  async readdir(p: string): Promise<string[]> {
    const r = this.#resolve(p);
    if (r.kind === 'parent') return [path.posix.basename(this.root)];
    if (r.kind === 'root') return this.entryNames;
    if (r.kind === 'entry' && r.entry) return [...TSM_ATTRIBUTES];
    if (r.kind === 'attribute' && r.entry && this.#isAttribute(r.attribute)) {
      throw systemError('ENOTDIR', 'scandir', p);
    }
    throw systemError('ENOENT', 'scandir', p);
  }

  #isAttribute(name: string): name is TsmAttribute {
    return (TSM_ATTRIBUTES as readonly string[]).includes(name);
  }

  #attribute(p: string, syscall: string): { entry: Entry; attribute: TsmAttribute } {
    const r = this.#resolve(p);
    if (r.kind === 'root' || r.kind === 'parent' || (r.kind === 'entry' && r.entry)) {
      throw systemError('EISDIR', syscall, p);
    }
    if (r.kind !== 'attribute' || !r.entry) throw systemError('ENOENT', syscall, p);
    if (!this.#isAttribute(r.attribute)) {
      // configfs cannot create files: opening a missing one for writing is EACCES.
      throw systemError(syscall === 'open' ? 'EACCES' : 'ENOENT', syscall, p);
    }
    return { entry: r.entry, attribute: r.attribute };
  }

  async readFile(p: string): Promise<Buffer> {
    const { entry, attribute } = this.#attribute(p, 'read');
    if (WRITE_ONLY.includes(attribute)) throw systemError('EACCES', 'open', p, `${attribute} is write-only`);
    switch (attribute) {
      case 'generation':
        return Buffer.from(`${entry.writeGeneration}\n`);
      case 'provider':
        if (this.provider === null) throw systemError('ENXIO', 'read', p);
        return Buffer.from(`${this.provider}\n`);
      case 'privlevel_floor':
        if (this.provider === null) throw systemError('ENXIO', 'read', p);
        return Buffer.from(`${this.channel.signer.guestVmpl}\n`);
      case 'outblob':
      case 'auxblob':
        return this.#readReport(entry, attribute, p);
      default:
        throw systemError('EACCES', 'open', p);
    }
  }

  async writeFile(p: string, data: Uint8Array | string): Promise<void> {
    const { entry, attribute } = this.#attribute(p, 'open');
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    if (attribute === 'inblob') {
      if (bytes.length > TSM_INBLOB_MAX) {
        throw systemError(
          'EFBIG',
          'write',
          p,
          `inblob holds at most ${TSM_INBLOB_MAX} bytes, got ${bytes.length}`,
        );
      }
      entry.writeGeneration++;
      entry.inblob = bytes;
      return;
    }
    if (attribute === 'privlevel') {
      const value = parseKernelUint(bytes.toString('latin1'));
      if (value === undefined)
        throw systemError('EINVAL', 'write', p, 'privlevel is not an unsigned integer');
      if (this.provider === null) throw systemError('ENXIO', 'write', p);
      const floor = this.channel.signer.guestVmpl;
      if (value < floor || value > PRIVLEVEL_MAX) {
        throw systemError('EINVAL', 'write', p, `privlevel must be ${floor}–${PRIVLEVEL_MAX}`);
      }
      entry.writeGeneration++;
      entry.privlevel = value;
      return;
    }
    throw systemError('EACCES', 'open', p, `${attribute} is read-only`);
  }

  /** tsm_report_read: the cached report if it is of the current generation, else a new one. */
  #readReport(entry: Entry, attribute: 'outblob' | 'auxblob', p: string): Buffer {
    if (entry.inblob.length === 0) throw systemError('EINVAL', 'read', p, 'write inblob first');
    if (!entry.outblob || entry.readGeneration !== entry.writeGeneration) {
      if (this.provider === null) throw systemError('ENXIO', 'read', p);
      entry.outblob = undefined;
      entry.auxblob = undefined;
      const failure = this.#reportNew(entry);
      if (failure) throw systemError(failure.errno, 'read', p, failure.detail);
      entry.readGeneration = entry.writeGeneration;
    }
    return Buffer.from((attribute === 'outblob' ? entry.outblob : entry.auxblob) ?? Buffer.alloc(0));
  }

  /** sev_report_new: an extended report request with a 16 KiB certificate buffer. */
  #reportNew(entry: Entry): { errno: ErrnoCode; detail?: string } | undefined {
    if (entry.inblob.length !== TSM_INBLOB_MAX) {
      return { errno: 'EINVAL', detail: `the sev_guest provider needs a ${TSM_INBLOB_MAX}-byte inblob` };
    }
    if (this.channel.vmpckWiped) return { errno: 'ENOTTY', detail: 'VMPCK is disabled' };
    const request = encodeReportReq({ reportData: entry.inblob, vmpl: entry.privlevel });
    const outcome = this.channel.reportRequest(request, SEV_FW_BLOB_MAX_SIZE);
    if (!outcome.ok) return { errno: outcome.errno };
    const rsp = decodeReportRsp(outcome.response);
    if (rsp.status === SEV_RET.INVALID_PARAM || rsp.status === SEV_RET.INVALID_KEY) {
      return { errno: 'EINVAL', detail: `firmware status 0x${rsp.status.toString(16)}` };
    }
    if (rsp.status !== 0) return { errno: 'ENXIO', detail: `firmware status 0x${rsp.status.toString(16)}` };
    entry.outblob = rsp.report;
    const certsSize = certTableExtent(outcome.certs ?? Buffer.alloc(0));
    entry.auxblob = certsSize ? Buffer.from(outcome.certs!.subarray(0, certsSize)) : undefined;
    this.stats.reportsGenerated++;
    return undefined;
  }
}

/** How far a GHCB certificate table's entries reach (the kernel's auxblob length). */
function certTableExtent(table: Buffer): number {
  let extent = 0;
  for (let at = 0; at + 24 <= table.length; at += 24) {
    const offset = table.readUInt32LE(at + 16);
    const length = table.readUInt32LE(at + 20);
    if (table.subarray(at, at + 16).every((b) => b === 0) && offset === 0 && length === 0) break;
    extent = Math.max(extent, offset + length);
  }
  return Math.min(extent, table.length);
}

/** kstrtouint(buf, 0): decimal, 0x-hex or 0-octal, an optional leading + and one trailing newline. */
function parseKernelUint(text: string): number | undefined {
  const m = /^\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\n?$/.exec(text);
  if (!m) return undefined;
  const digits = m[1]!;
  const value = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith('0')
      ? parseInt(digits.slice(1), 8)
      : parseInt(digits, 10);
  return value <= 0xffff_ffff ? value : undefined;
}
