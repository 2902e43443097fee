/**
 * The kernel side of the SEV-SNP guest device ioctls, on the real byte structures:
 *   - `/dev/sev-guest` (Linux 6.x, include/uapi/linux/sev-guest.h): SNP_GET_REPORT and
 *     SNP_GET_EXT_REPORT with the 32-byte `snp_guest_request_ioctl`;
 *   - `/dev/sev` (Azure ACI, Linux 5.15 out-of-tree driver): SEV_SNP_GUEST_MSG_REPORT with the
 *     40-byte `sev_snp_guest_request`.
 * A call passes what the user would: the ioctl number, the argument struct, the buffer its request
 * pointer points to and the sizes of the buffers its response (and certificate) pointers point to.
 * The result is what the user sees afterwards: errno, the struct (exitinfo2 / error written back),
 * and the buffers the kernel wrote. Pointer values only matter for being zero or not.
 *
 * Checks follow drivers/virt/coco/sev-guest/sev-guest.c (`snp_guest_ioctl`, `get_report`,
 * `get_ext_report`, `__handle_guest_request`).
 */
import { REPORT_SIZE } from '../../core/snp/index.ts';
import {
  decodeExtReportCerts,
  decodeGuestRequestIoctl,
  decodeSevGuestRequest,
  encodeSevGuestRequest,
  EXT_REPORT_REQ_SIZE,
  GUEST_REQUEST_IOCTL_SIZE,
  PAGE_SIZE,
  REPORT_REQ_SIZE,
  REPORT_RSP_HEADER_SIZE,
  SEV_FW_BLOB_MAX_SIZE,
  SEV_GUEST_REQUEST_SIZE,
  SEV_SNP_GUEST_MSG_REPORT,
  SEV_SNP_GUEST_MSG_REQUEST,
  SNP_GET_EXT_REPORT,
  SNP_GET_REPORT,
  SNP_MSG_REPORT_REQ,
  SNP_MSG_REPORT_RSP,
  SNP_REPORT_RESP_SIZE,
} from './abi.ts';
import { ERRNO, type ErrnoCode } from './errno.ts';
import type { GuestRequestChannel } from './guest-channel.ts';

/** Which device node: `sev-guest` (/dev/sev-guest, Linux 6.x) or `sev` (/dev/sev, ACI 5.15). */
export type SevDeviceAbi = 'sev-guest' | 'sev';

export interface IoctlCall {
  /** The ioctl request number, e.g. SNP_GET_REPORT (0xC0205300). */
  readonly request: number;
  /** The argument struct: 32 bytes for /dev/sev-guest, 40 for /dev/sev. */
  readonly arg: Uint8Array;
  /** The buffer `req_data` / `request_uaddr` points to (MSG_REPORT_REQ or snp_ext_report_req). */
  readonly requestBuffer: Uint8Array;
  /** Size of the buffer `resp_data` / `response_uaddr` points to. */
  readonly responseSize: number;
  /** Size of the buffer `certs_address` points to (SNP_GET_EXT_REPORT); default 0. */
  readonly certsSize?: number;
}

export interface IoctlResult {
  /** 0 on success, else the positive Linux errno the ioctl failed with. */
  readonly errno: number;
  /** exitinfo2 (/dev/sev-guest) or `error` (/dev/sev) as the struct holds it after the call. */
  readonly exitinfo2: bigint;
  /** The argument struct after the call. */
  readonly arg: Buffer;
  /** The request buffer when the kernel wrote to it (SNP_GET_EXT_REPORT's certs_len), else undefined. */
  readonly requestBuffer: Buffer | undefined;
  /** `responseSize` bytes when the kernel wrote the response buffer, else undefined. */
  readonly response: Buffer | undefined;
  /** `certsSize` bytes when the kernel wrote the certificate buffer, else undefined. */
  readonly certs: Buffer | undefined;
}

interface Outcome {
  errno: ErrnoCode | 0;
  requestBuffer?: Buffer;
  response?: Buffer;
  certs?: Buffer;
}

function sized(bytes: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  bytes.copy(out, 0, 0, Math.min(bytes.length, size));
  return out;
}

export class FakeSevGuest {
  readonly channel: GuestRequestChannel;
  readonly abi: SevDeviceAbi;

  constructor(channel: GuestRequestChannel, abi: SevDeviceAbi = 'sev-guest') {
    this.channel = channel;
    this.abi = abi;
  }

  /** The device path this fake stands for. */
  get path(): string {
    return this.abi === 'sev' ? '/dev/sev' : '/dev/sev-guest';
  }

  ioctl(call: IoctlCall): IoctlResult {
    return this.abi === 'sev' ? this.#sev(call) : this.#sevGuest(call);
  }

  // ---- /dev/sev-guest (Linux 6.x) ----

  #sevGuest(call: IoctlCall): IoctlResult {
    const arg = Buffer.from(call.arg);
    const result = (o: Outcome, exitinfo2: bigint): IoctlResult => {
      // The kernel copies the struct back only when exitinfo2 is non-zero.
      if (exitinfo2 !== 0n) arg.writeBigUInt64LE(exitinfo2, 24);
      return {
        errno: o.errno === 0 ? 0 : ERRNO[o.errno],
        exitinfo2: arg.readBigUInt64LE(24),
        arg,
        requestBuffer: o.requestBuffer,
        response: o.response,
        certs: o.certs,
      };
    };
    if (arg.length < GUEST_REQUEST_IOCTL_SIZE) return this.#plain('EFAULT', arg);
    const input = decodeGuestRequestIoctl(arg);
    if (input.msgVersion === 0) return this.#plain('EINVAL', arg);
    if (this.channel.vmpckWiped) return this.#plain('ENOTTY', arg);
    const state = { exitinfo2: 0xffn };
    let o: Outcome;
    switch (call.request >>> 0) {
      case SNP_GET_REPORT:
        o = this.#getReport(call, input.reqData, input.respData, state);
        break;
      case SNP_GET_EXT_REPORT:
        o = this.#getExtReport(call, input.reqData, input.respData, state);
        break;
      default:
        // Includes SNP_GET_DERIVED_KEY, which this fake does not simulate.
        o = { errno: 'ENOTTY' };
    }
    return result(o, state.exitinfo2);
  }

  #plain(errno: ErrnoCode, arg: Buffer): IoctlResult {
    const exitinfo2 = arg.length >= 32 ? arg.readBigUInt64LE(24) : 0n;
    return {
      errno: ERRNO[errno],
      exitinfo2,
      arg,
      requestBuffer: undefined,
      response: undefined,
      certs: undefined,
    };
  }

  #getReport(call: IoctlCall, reqData: bigint, respData: bigint, state: { exitinfo2: bigint }): Outcome {
    if (reqData === 0n || respData === 0n) return { errno: 'EINVAL' };
    if (call.requestBuffer.length < REPORT_REQ_SIZE) return { errno: 'EFAULT' };
    const outcome = this.channel.reportRequest(call.requestBuffer.subarray(0, REPORT_REQ_SIZE));
    if (!outcome.ok) {
      state.exitinfo2 = outcome.exitinfo2;
      return { errno: outcome.errno };
    }
    state.exitinfo2 = 0n;
    if (call.responseSize < SNP_REPORT_RESP_SIZE) return { errno: 'EFAULT' };
    return { errno: 0, response: sized(outcome.response, call.responseSize) };
  }

  #getExtReport(call: IoctlCall, reqData: bigint, respData: bigint, state: { exitinfo2: bigint }): Outcome {
    if (reqData === 0n || respData === 0n) return { errno: 'EINVAL' };
    if (call.requestBuffer.length < EXT_REPORT_REQ_SIZE) return { errno: 'EFAULT' };
    const req = Buffer.from(call.requestBuffer.subarray(0, EXT_REPORT_REQ_SIZE));
    const { certsAddress, certsLen } = decodeExtReportCerts(req);
    // certs_len 0 or a null address: the caller wants no certificates (but the host may still insist).
    const wantsCerts = certsLen !== 0 && certsAddress !== 0n;
    if (wantsCerts) {
      if (certsLen > SEV_FW_BLOB_MAX_SIZE || certsLen % PAGE_SIZE !== 0) return { errno: 'EINVAL' };
      if ((call.certsSize ?? 0) < certsLen) return { errno: 'EFAULT' };
    }
    const outcome = this.channel.reportRequest(req.subarray(0, REPORT_REQ_SIZE), wantsCerts ? certsLen : 0);
    if (!outcome.ok) {
      state.exitinfo2 = outcome.exitinfo2;
      if (outcome.requiredCertsLen !== undefined) {
        // "If certs length is invalid then copy the returned length" back into the request.
        req.writeUInt32LE(outcome.requiredCertsLen, 104);
        return { errno: outcome.errno, requestBuffer: sized(req, call.requestBuffer.length) };
      }
      return { errno: outcome.errno };
    }
    state.exitinfo2 = 0n;
    if (call.responseSize < SNP_REPORT_RESP_SIZE) return { errno: 'EFAULT' };
    const certs =
      wantsCerts && outcome.certs ? sized(outcome.certs, Math.max(call.certsSize ?? 0, certsLen)) : undefined;
    return { errno: 0, response: sized(outcome.response, call.responseSize), certs };
  }

  // ---- /dev/sev (Azure ACI, Linux 5.15) ----

  #sev(call: IoctlCall): IoctlResult {
    const arg = Buffer.from(call.arg);
    const done = (errno: ErrnoCode | 0, response?: Buffer): IoctlResult => ({
      errno: errno === 0 ? 0 : ERRNO[errno],
      exitinfo2: arg.length >= SEV_GUEST_REQUEST_SIZE ? BigInt(arg.readUInt32LE(32)) : 0n,
      arg,
      requestBuffer: undefined,
      response,
      certs: undefined,
    });
    if (arg.length < SEV_GUEST_REQUEST_SIZE) return done('EFAULT');
    const request = call.request >>> 0;
    const s = decodeSevGuestRequest(arg);
    const isReport =
      request === SEV_SNP_GUEST_MSG_REPORT ||
      (request === SEV_SNP_GUEST_MSG_REQUEST && s.reqMsgType === SNP_MSG_REPORT_REQ);
    // SEV_SNP_GUEST_MSG_KEY and other message types are not simulated.
    if (!isReport) return done('ENOTTY');
    if (s.msgVersion === 0) return done('EINVAL');
    if (this.channel.vmpckWiped) return done('ENOTTY');
    if (s.reqMsgType !== SNP_MSG_REPORT_REQ || s.rspMsgType !== SNP_MSG_REPORT_RSP) return done('EINVAL');
    if (s.requestUaddr === 0n || s.responseUaddr === 0n) return done('EINVAL');
    if (s.requestLen !== REPORT_REQ_SIZE) return done('EINVAL');
    if (s.responseLen < REPORT_RSP_HEADER_SIZE + REPORT_SIZE) return done('EINVAL');
    if (call.requestBuffer.length < s.requestLen || call.responseSize < s.responseLen) return done('EFAULT');
    const outcome = this.channel.reportRequest(call.requestBuffer.subarray(0, REPORT_REQ_SIZE));
    if (!outcome.ok) {
      encodeSevGuestRequest({ ...s, error: Number(outcome.exitinfo2 & 0xffff_ffffn) }).copy(arg);
      return done(outcome.errno);
    }
    return done(0, sized(outcome.response, call.responseSize));
  }
}
