/**
 * Evidence from `/dev/sev-guest` (Linux 6.x, include/uapi/linux/sev-guest.h): one SNP_GET_EXT_REPORT
 * ioctl returns the report and the GHCB certificate table the host attached.
 *
 *   struct snp_guest_request_ioctl { u8 msg_version; u64 req_data; u64 resp_data; u64 exitinfo2; }  (32 bytes)
 *   struct snp_ext_report_req { MSG_REPORT_REQ data (96 bytes); u64 certs_address; u32 certs_len; } (112)
 *   MSG_REPORT_REQ: report_data[64] @0, vmpl u32 @0x40, reserved[28]
 *   MSG_REPORT_RSP (in the 4000-byte response): status u32 @0, report_size u32 @4, report @0x20
 *
 * Node cannot issue ioctls, so on a real device the native helper agent/native/sev-report.c makes
 * the call (native-helper.ts, ADR 16). The simulated devices' socket takes the same structures the
 * kernel uses (pointer fields only need to be non-zero there), which SevGuestSocketAttester builds.
 */
import { AgentError } from '../errors.ts';
import { sleep } from '../retry.ts';
import { DEFAULT_SEV_HELPER } from '../config.ts';
import type { Attester, Evidence } from './attester.ts';
import { errnoName, type DeviceSocket, type IoctlAnswer } from './device-socket.ts';
import { sevReportViaHelper, type SevHelperOptions } from './native-helper.ts';

export const SEV_GUEST_DEVICE = '/dev/sev-guest';

/** `_IOWR('S', 0x2, struct snp_guest_request_ioctl)`. */
export const SNP_GET_EXT_REPORT = ((3 << 30) | (32 << 16) | (0x53 << 8) | 0x2) >>> 0;
const GUEST_REQUEST_IOCTL_SIZE = 32;
const EXT_REPORT_REQ_SIZE = 112;
const SNP_REPORT_RESP_SIZE = 4000;
const REPORT_RSP_HEADER = 0x20;
const REPORT_SIZE = 0x4a0;
const PAGE = 4096;
/** The kernel's cap on the certificate buffer (SEV_FW_BLOB_MAX_SIZE). */
const MAX_CERTS = 0x4000;
/** exitinfo2 bits 63:32 — VMM errors. */
const VMM_ERR_INVALID_LEN = 1n;
const VMM_ERR_BUSY = 2n;

export interface SevGuestSocketOptions {
  socket: DeviceSocket;
  attempts?: number;
}

/** `/dev/sev-guest` through the simulated devices' socket (SIMULATORS ONLY). */
export class SevGuestSocketAttester implements Attester {
  readonly name = 'sev-guest-socket';
  readonly #socket: DeviceSocket;
  readonly #attempts: number;

  constructor(o: SevGuestSocketOptions) {
    this.#socket = o.socket;
    this.#attempts = o.attempts ?? 5;
  }

  get #source(): string {
    return `${SEV_GUEST_DEVICE} via ${this.#socket.path}`;
  }

  async report(reportData: Buffer): Promise<Evidence> {
    let certsLen = MAX_CERTS;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#socket
        .ioctl('sev-guest', {
          request: SNP_GET_EXT_REPORT,
          arg: guestRequestIoctl(),
          requestBuffer: extReportReq(reportData, certsLen),
          responseSize: SNP_REPORT_RESP_SIZE,
          certsSize: certsLen,
        })
        .catch((err: unknown) => {
          throw new AgentError('evidence-failed', `the device socket failed: ${(err as Error).message}`, {
            step: 'evidence',
            endpoint: this.#source,
            cause: err,
          });
        });
      if (answer.errno === 0) return this.#evidence(answer);
      const vmm = answer.exitinfo2 >> 32n;
      if (attempt < this.#attempts && vmm === VMM_ERR_INVALID_LEN && answer.requestBuffer) {
        // The host needs a bigger certificate buffer and wrote the size back into certs_len.
        const needed = answer.requestBuffer.readUInt32LE(104);
        if (needed > certsLen && needed <= MAX_CERTS && needed % PAGE === 0) {
          certsLen = needed;
          continue;
        }
      }
      const busy = answer.errno === 16 || answer.errno === 11 || vmm === VMM_ERR_BUSY;
      if (attempt < this.#attempts && busy && answer.errno !== 5) {
        await sleep(100 * 2 ** (attempt - 1));
        continue;
      }
      throw this.#failure(answer);
    }
  }

  #evidence(answer: IoctlAnswer): Evidence {
    const rsp = answer.response;
    if (!rsp || rsp.length < REPORT_RSP_HEADER + REPORT_SIZE) {
      throw new AgentError('evidence-malformed', 'SNP_GET_EXT_REPORT returned no report response', {
        step: 'evidence',
        endpoint: this.#source,
      });
    }
    const status = rsp.readUInt32LE(0);
    if (status !== 0) {
      throw new AgentError(
        'evidence-failed',
        `the firmware refused the report request with status 0x${status.toString(16)}`,
        {
          step: 'evidence',
          endpoint: this.#source,
          ...(status === 0x16 ? { hint: 'INVALID_PARAM: VMPL or reserved fields of MSG_REPORT_REQ' } : {}),
        },
      );
    }
    const size = rsp.readUInt32LE(4);
    if (size !== REPORT_SIZE) {
      throw new AgentError(
        'evidence-malformed',
        `MSG_REPORT_RSP report_size is ${size}, expected ${REPORT_SIZE}`,
        {
          step: 'evidence',
          endpoint: this.#source,
        },
      );
    }
    const report = Buffer.from(rsp.subarray(REPORT_RSP_HEADER, REPORT_RSP_HEADER + REPORT_SIZE));
    const certs = answer.certs;
    const hasCerts = certs !== undefined && certs.subarray(0, 24).some((b) => b !== 0);
    return { report, ...(hasCerts ? { certTable: Buffer.from(certs) } : {}), source: this.#source };
  }

  #failure(answer: IoctlAnswer): AgentError {
    const code = errnoName(answer.errno);
    const fw = Number(answer.exitinfo2 & 0xffff_ffffn);
    const vmm = Number(answer.exitinfo2 >> 32n);
    const causes: Record<string, string> = {
      ENOENT: `the guest has no ${SEV_GUEST_DEVICE}`,
      ENOTTY: "the guest kernel disabled its VMPCK after a failed request; the pod's VM must restart",
      EIO: 'the firmware or hypervisor failed the request',
      EBUSY: 'the host kept throttling report requests',
      EAGAIN: 'the host kept throttling report requests',
      EINVAL: 'the kernel refused the request structure',
    };
    return new AgentError(
      answer.errno === 2 ? 'device-unavailable' : 'evidence-failed',
      `SNP_GET_EXT_REPORT failed with ${code} (firmware error 0x${fw.toString(16)}, VMM error ${vmm})`,
      { step: 'evidence', endpoint: this.#source, ...(causes[code] ? { hint: causes[code] } : {}) },
    );
  }
}

export interface SevDeviceOptions {
  /** Default /dev/sev-guest. */
  device?: string;
  /** The native helper; default DEFAULT_SEV_HELPER. */
  helper?: string;
  /** The helper's environment (tests: LD_PRELOAD); empty by default. */
  env?: Record<string, string>;
  deadline?: number;
}

/**
 * The real device, through the native helper (agent/native/sev-report.c): SNP_GET_EXT_REPORT with a
 * certificate buffer grown once to what the host needs, retried while throttled, SNP_GET_REPORT when
 * the driver lacks the extended call. A string argument is the device path.
 */
export class SevGuestDeviceAttester implements Attester {
  readonly name = 'sev-guest';
  readonly #o: SevHelperOptions;

  constructor(options: SevDeviceOptions | string = {}) {
    const o = typeof options === 'string' ? { device: options } : options;
    this.#o = {
      kind: 'sev-guest',
      device: o.device ?? SEV_GUEST_DEVICE,
      helper: o.helper ?? DEFAULT_SEV_HELPER,
      ...(o.env === undefined ? {} : { env: o.env }),
      ...(o.deadline === undefined ? {} : { deadline: o.deadline }),
    };
  }

  report(reportData: Buffer): Promise<Evidence> {
    return sevReportViaHelper(this.#o, reportData);
  }
}

function guestRequestIoctl(): Buffer {
  const b = Buffer.alloc(GUEST_REQUEST_IOCTL_SIZE);
  b.writeUInt8(1, 0); // msg_version
  b.writeBigUInt64LE(0x1000n, 8); // req_data: any non-zero address
  b.writeBigUInt64LE(0x2000n, 16); // resp_data
  return b;
}

function extReportReq(reportData: Buffer, certsLen: number): Buffer {
  const b = Buffer.alloc(EXT_REPORT_REQ_SIZE);
  reportData.copy(b, 0, 0, 64);
  b.writeUInt32LE(0, 0x40); // vmpl 0
  b.writeBigUInt64LE(0x3000n, 96); // certs_address
  b.writeUInt32LE(certsLen, 104);
  return b;
}
