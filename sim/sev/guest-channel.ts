/**
 * The path an SNP guest request takes below the guest kernel: the hypervisor (throttling, the
 * certificates it attaches to extended requests) and the AMD secure processor (the report itself).
 * Both device fakes — the `/dev/sev-guest` ioctls and configfs-tsm — send their requests through
 * one channel, so they share throttling, injected failures and the VMPCK state, as on a real guest.
 *
 * Outcomes mirror the kernel's (drivers/virt/coco/sev-guest): a hypervisor or firmware failure is
 * an errno plus exitinfo2 (firmware error in bits 31:0, VMM error in bits 63:32); a report request
 * the firmware rejects is a *successful* request whose MSG_REPORT_RSP status is INVALID_PARAM.
 */
import { AmdSimError } from '../amd/errors.ts';
import type { ReportSigner } from '../amd/report-signer.ts';
import {
  encodeReportRsp,
  PAGE_SIZE,
  REPORT_REQ_SIZE,
  SEV_RET,
  SNP_GUEST_VMM_ERR_BUSY,
  SNP_GUEST_VMM_ERR_INVALID_LEN,
  vmmError,
} from './abi.ts';
import type { ErrnoCode } from './errno.ts';

export interface ThrottleOptions {
  /** Requests the host lets through per interval; the next ones are throttled. */
  readonly limit: number;
  readonly intervalMs: number;
  /**
   * What the guest sees when throttled. `EBUSY` (default) or `EAGAIN`: the error, with VMM error BUSY
   * in exitinfo2. `EIO`: what Linux 6.1 did (a failed request, after which the VMPCK is wiped).
   */
  readonly errno?: 'EBUSY' | 'EAGAIN' | 'EIO';
}

export interface GuestChannelOptions {
  /** The launched guest: its HOST_DATA and the platform that signs. */
  readonly signer: ReportSigner;
  /**
   * The GHCB certificate table the host attaches to extended reports. Default: VCEK (of the
   * reported TCB), ASK and ARK. `null`: the host has no certificates (the buffer comes back zeroed).
   */
  readonly certTable?: Uint8Array | null;
  readonly throttle?: ThrottleOptions;
  /**
   * The guest kernel wipes its VMPCK after a failed request (to avoid IV reuse), so every later
   * request fails with ENOTTY until the guest reboots (`reboot()`). Default true, as Linux does.
   */
  readonly wipeVmpckOnError?: boolean;
  /** Clock for throttling; default Date.now. */
  readonly now?: () => number;
}

export type GuestOutcome =
  | {
      readonly ok: true;
      /** MSG_REPORT_RSP as the firmware wrote it (0x20 header + report). */
      readonly response: Buffer;
      /** The certificate buffer as the host filled it (`capacity` bytes), for extended requests. */
      readonly certs: Buffer | undefined;
    }
  | {
      readonly ok: false;
      readonly errno: ErrnoCode;
      readonly exitinfo2: bigint;
      /** With VMM error INVALID_LEN: the certificate buffer size the host needs, in bytes. */
      readonly requiredCertsLen?: number;
    };

export interface GuestChannelStats {
  /** Requests that reached the hypervisor. */
  requests: number;
  /** Reports the firmware signed. */
  reports: number;
  throttled: number;
  firmwareErrors: number;
  /** Report requests the firmware answered with status INVALID_PARAM. */
  rejected: number;
}

export class GuestRequestChannel {
  readonly signer: ReportSigner;
  readonly stats: GuestChannelStats = {
    requests: 0,
    reports: 0,
    throttled: 0,
    firmwareErrors: 0,
    rejected: 0,
  };
  throttle: ThrottleOptions | undefined;
  readonly #certTable: Buffer | null;
  readonly #wipe: boolean;
  readonly #now: () => number;
  readonly #injected: number[] = [];
  #window = { start: 0, count: 0 };
  #vmpckWiped = false;

  constructor(options: GuestChannelOptions) {
    this.signer = options.signer;
    this.#certTable =
      options.certTable === null
        ? null
        : Buffer.from(
            options.certTable ??
              options.signer.amd.certTable(options.signer.vcek.tcb, options.signer.signingKey),
          );
    this.throttle = options.throttle;
    this.#wipe = options.wipeVmpckOnError ?? true;
    this.#now = options.now ?? Date.now;
  }

  /** True once a failed request made the guest kernel wipe its VMPCK: the device answers ENOTTY. */
  get vmpckWiped(): boolean {
    return this.#vmpckWiped;
  }

  /** A new boot: the VMPCK is back and the throttling window restarts. */
  reboot(): void {
    this.#vmpckWiped = false;
    this.#window = { start: 0, count: 0 };
  }

  /** The next `count` requests fail in the firmware with `fwError` (e.g. SEV_RET.RESOURCE_LIMIT). */
  injectFirmwareError(fwError: number, count = 1): void {
    for (let i = 0; i < count; i++) this.#injected.push(fwError);
  }

  /** The certificate table the host attaches; undefined when it has none. */
  get certTable(): Buffer | undefined {
    return this.#certTable ?? undefined;
  }

  /** Bytes the certificate buffer must hold: the table rounded up to whole pages. */
  get requiredCertsLen(): number {
    return this.#certTable ? Math.ceil(this.#certTable.length / PAGE_SIZE) * PAGE_SIZE : 0;
  }

  #fail(errno: ErrnoCode, exitinfo2: bigint, wipe: boolean): GuestOutcome {
    if (wipe && this.#wipe) this.#vmpckWiped = true;
    return { ok: false, errno, exitinfo2 };
  }

  #throttled(): boolean {
    const t = this.throttle;
    if (!t) return false;
    const now = this.#now();
    if (now - this.#window.start >= t.intervalMs) this.#window = { start: now, count: 0 };
    this.#window.count++;
    return this.#window.count > t.limit;
  }

  /**
   * One MSG_REPORT_REQ (96 bytes). `certsCapacity` makes it an extended request whose certificate
   * buffer holds that many bytes (0 when the caller passed none).
   */
  reportRequest(request: Uint8Array, certsCapacity?: number): GuestOutcome {
    this.stats.requests++;
    if (this.#throttled()) {
      this.stats.throttled++;
      const errno = this.throttle?.errno ?? 'EBUSY';
      return this.#fail(errno, vmmError(SNP_GUEST_VMM_ERR_BUSY), errno === 'EIO');
    }
    const fwError = this.#injected.shift();
    if (fwError !== undefined) {
      this.stats.firmwareErrors++;
      return this.#fail('EIO', BigInt(fwError >>> 0), true);
    }
    const extended = certsCapacity !== undefined;
    if (extended && this.#certTable && certsCapacity < this.requiredCertsLen) {
      // The kernel reissues the request without certificates (so the sequence number advances) and
      // reports EIO with INVALID_LEN; the VMPCK stays.
      return {
        ok: false,
        errno: 'EIO',
        exitinfo2: vmmError(SNP_GUEST_VMM_ERR_INVALID_LEN),
        requiredCertsLen: this.requiredCertsLen,
      };
    }
    const response = this.#firmware(Buffer.from(request.subarray(0, REPORT_REQ_SIZE)));
    let certs: Buffer | undefined;
    if (extended) {
      certs = Buffer.alloc(certsCapacity);
      this.#certTable?.copy(certs);
    }
    return { ok: true, response, certs };
  }

  /** The firmware's MSG_REPORT_REQ handling: reserved bytes must be zero, VMPL within the guest's. */
  #firmware(req: Buffer): Buffer {
    const reportData = req.subarray(0, 64);
    const vmpl = req.readUInt32LE(0x40);
    if (req.subarray(0x44, REPORT_REQ_SIZE).some((b) => b !== 0)) {
      this.stats.rejected++;
      return encodeReportRsp(SEV_RET.INVALID_PARAM);
    }
    try {
      const report = this.signer.sign({ reportData, vmpl });
      this.stats.reports++;
      return encodeReportRsp(SEV_RET.SUCCESS, report);
    } catch (err) {
      if (!(err instanceof AmdSimError) || err.kind !== 'bad-vmpl') throw err;
      this.stats.rejected++;
      return encodeReportRsp(SEV_RET.INVALID_PARAM);
    }
  }
}
