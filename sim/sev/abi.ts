/**
 * The guest ABIs of the SEV-SNP report interfaces, as bytes (Linux `include/uapi/linux/sev-guest.h`): Linux 6.x
 * `/dev/sev-guest` (include/uapi/linux/sev-guest.h), the older Azure ACI `/dev/sev` (the 5.15
 * out-of-tree driver's psp-sev-guest.h), and the firmware's MSG_REPORT_REQ / MSG_REPORT_RSP
 * (SNP ABI 56860). All integers are little-endian; structs are laid out by the x86-64 SysV ABI.
 */
import { REPORT_SIZE } from '../../core/snp/index.ts';

/** `_IOWR(type, nr, size)`: dir 3 (read|write) << 30 | size << 16 | type << 8 | nr. */
export function iowr(type: string, nr: number, size: number): number {
  return ((3 << 30) | (size << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}

/** struct snp_guest_request_ioctl: msg_version u8 @0, req_data u64 @8, resp_data u64 @16, exitinfo2 u64 @24. */
export const GUEST_REQUEST_IOCTL_SIZE = 32;
/** struct sev_snp_guest_request (5.x): 40 bytes with SysV padding. */
export const SEV_GUEST_REQUEST_SIZE = 40;

/** Linux 6.x `/dev/sev-guest`. */
export const SNP_GET_REPORT = iowr('S', 0x0, GUEST_REQUEST_IOCTL_SIZE); // 0xC0205300
export const SNP_GET_DERIVED_KEY = iowr('S', 0x1, GUEST_REQUEST_IOCTL_SIZE); // 0xC0205301
export const SNP_GET_EXT_REPORT = iowr('S', 0x2, GUEST_REQUEST_IOCTL_SIZE); // 0xC0205302

/** Azure ACI Linux 5.15 `/dev/sev`. */
export const SEV_SNP_GUEST_MSG_REQUEST = iowr('S', 0x0, SEV_GUEST_REQUEST_SIZE); // 0xC0285300
export const SEV_SNP_GUEST_MSG_REPORT = iowr('S', 0x1, SEV_GUEST_REQUEST_SIZE); // 0xC0285301
export const SEV_SNP_GUEST_MSG_KEY = iowr('S', 0x2, SEV_GUEST_REQUEST_SIZE); // 0xC0285302

/** SNP guest message types (SNP ABI Table 100). */
export const SNP_MSG_REPORT_REQ = 5;
export const SNP_MSG_REPORT_RSP = 6;

/** MSG_REPORT_REQ: report_data[64] @0, vmpl u32 @0x40, reserved[28] @0x44. */
export const REPORT_REQ_SIZE = 96;
/** struct snp_ext_report_req: the report request, certs_address u64 @96, certs_len u32 @104; 112 with padding. */
export const EXT_REPORT_REQ_SIZE = 112;
/** MSG_REPORT_RSP: status u32 @0, report_size u32 @4, reserved to 0x1F, report @0x20. */
export const REPORT_RSP_HEADER_SIZE = 0x20;
/** struct snp_report_resp { u8 data[4000]; } — what the 6.x ioctl copies out. */
export const SNP_REPORT_RESP_SIZE = 4000;
/** The 5.x driver's response buffer (the firmware message size). */
export const SEV_REPORT_RESP_SIZE = 1280;
/** The kernel's limit on the extended report's certificate buffer (SEV_FW_BLOB_MAX_SIZE). */
export const SEV_FW_BLOB_MAX_SIZE = 0x4000;
export const PAGE_SIZE = 4096;

/** Firmware status codes (linux/psp-sev.h SEV_RET_*) that guest requests can meet. */
export const SEV_RET = {
  SUCCESS: 0x00,
  INVALID_GUEST_STATE: 0x02,
  INVALID_LEN: 0x04,
  INVALID_ADDRESS: 0x09,
  INVALID_GUEST: 0x10,
  UNSUPPORTED: 0x15,
  INVALID_PARAM: 0x16,
  RESOURCE_LIMIT: 0x17,
  SECURE_DATA_INVALID: 0x18,
  INVALID_KEY: 0x27,
} as const;

/** VMM errors, carried in exitinfo2 bits 63:32 (SNP_GUEST_VMM_ERR). */
export const SNP_GUEST_VMM_ERR_INVALID_LEN = 1;
export const SNP_GUEST_VMM_ERR_BUSY = 2;
export const vmmError = (code: number): bigint => BigInt(code) << 32n;

/** exitinfo2 split as the kernel's union does: firmware error (bits 31:0) and VMM error (bits 63:32). */
export function splitExitinfo2(exitinfo2: bigint): { fwError: number; vmmError: number } {
  return { fwError: Number(exitinfo2 & 0xffff_ffffn), vmmError: Number((exitinfo2 >> 32n) & 0xffff_ffffn) };
}

export interface GuestRequestIoctl {
  readonly msgVersion: number;
  readonly reqData: bigint;
  readonly respData: bigint;
  readonly exitinfo2: bigint;
}

export function encodeGuestRequestIoctl(s: GuestRequestIoctl): Buffer {
  const b = Buffer.alloc(GUEST_REQUEST_IOCTL_SIZE);
  b.writeUInt8(s.msgVersion, 0);
  b.writeBigUInt64LE(s.reqData, 8);
  b.writeBigUInt64LE(s.respData, 16);
  b.writeBigUInt64LE(s.exitinfo2, 24);
  return b;
}

export function decodeGuestRequestIoctl(b: Uint8Array): GuestRequestIoctl {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return {
    msgVersion: buf.readUInt8(0),
    reqData: buf.readBigUInt64LE(8),
    respData: buf.readBigUInt64LE(16),
    exitinfo2: buf.readBigUInt64LE(24),
  };
}

export interface SevGuestRequest {
  readonly reqMsgType: number;
  readonly rspMsgType: number;
  readonly msgVersion: number;
  readonly requestLen: number;
  readonly requestUaddr: bigint;
  readonly responseLen: number;
  readonly responseUaddr: bigint;
  /** Firmware error written back by the driver. */
  readonly error: number;
}

export function encodeSevGuestRequest(s: SevGuestRequest): Buffer {
  const b = Buffer.alloc(SEV_GUEST_REQUEST_SIZE);
  b.writeUInt8(s.reqMsgType, 0);
  b.writeUInt8(s.rspMsgType, 1);
  b.writeUInt8(s.msgVersion, 2);
  b.writeUInt16LE(s.requestLen, 4);
  b.writeBigUInt64LE(s.requestUaddr, 8);
  b.writeUInt16LE(s.responseLen, 16);
  b.writeBigUInt64LE(s.responseUaddr, 24);
  b.writeUInt32LE(s.error, 32);
  return b;
}

export function decodeSevGuestRequest(b: Uint8Array): SevGuestRequest {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return {
    reqMsgType: buf.readUInt8(0),
    rspMsgType: buf.readUInt8(1),
    msgVersion: buf.readUInt8(2),
    requestLen: buf.readUInt16LE(4),
    requestUaddr: buf.readBigUInt64LE(8),
    responseLen: buf.readUInt16LE(16),
    responseUaddr: buf.readBigUInt64LE(24),
    error: buf.readUInt32LE(32),
  };
}

export interface ReportReq {
  readonly reportData: Uint8Array;
  readonly vmpl: number;
}

/** MSG_REPORT_REQ; `reportData` shorter than 64 bytes is zero-padded. */
export function encodeReportReq(r: ReportReq): Buffer {
  const b = Buffer.alloc(REPORT_REQ_SIZE);
  b.set(r.reportData.subarray(0, 64), 0);
  b.writeUInt32LE(r.vmpl, 0x40);
  return b;
}

/** struct snp_ext_report_req. */
export function encodeExtReportReq(r: ReportReq & { certsAddress: bigint; certsLen: number }): Buffer {
  const b = Buffer.alloc(EXT_REPORT_REQ_SIZE);
  encodeReportReq(r).copy(b, 0);
  b.writeBigUInt64LE(r.certsAddress, 96);
  b.writeUInt32LE(r.certsLen, 104);
  return b;
}

export function decodeExtReportCerts(b: Uint8Array): { certsAddress: bigint; certsLen: number } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return { certsAddress: buf.readBigUInt64LE(96), certsLen: buf.readUInt32LE(104) };
}

export interface ReportRsp {
  readonly status: number;
  readonly reportSize: number;
  /** The report bytes (`reportSize` of them from 0x20), empty when status is not 0. */
  readonly report: Buffer;
}

/** Reads MSG_REPORT_RSP from the start of a response buffer. */
export function decodeReportRsp(b: Uint8Array): ReportRsp {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const status = buf.readUInt32LE(0);
  const reportSize = buf.readUInt32LE(4);
  const end = REPORT_RSP_HEADER_SIZE + Math.min(reportSize, buf.length - REPORT_RSP_HEADER_SIZE);
  return { status, reportSize, report: Buffer.from(buf.subarray(REPORT_RSP_HEADER_SIZE, end)) };
}

/** MSG_REPORT_RSP as the firmware writes it: a report on success, only the status otherwise. */
export function encodeReportRsp(status: number, report?: Uint8Array): Buffer {
  const b = Buffer.alloc(REPORT_RSP_HEADER_SIZE + REPORT_SIZE);
  b.writeUInt32LE(status, 0);
  if (status === SEV_RET.SUCCESS && report) {
    b.writeUInt32LE(report.length, 4);
    b.set(report, REPORT_RSP_HEADER_SIZE);
  }
  return b;
}
