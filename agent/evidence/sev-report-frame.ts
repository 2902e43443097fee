/**
 * The framing the native helper (agent/native/sev-report.c) writes to stdout, parsed strictly: a
 * helper from another build, a truncated pipe or stray output must be refused, never half-read.
 *
 *   @0 "SKSR" · @4 u8 version 1 · @5 u8 ioctl (1 SNP_GET_EXT_REPORT, 2 SNP_GET_REPORT,
 *   3 SEV_SNP_GUEST_MSG_REPORT) · @6 u16 reserved 0 · @8 u32 R · R report bytes ·
 *   u32 C · C certificate-buffer bytes — nothing after. Little-endian.
 */
import { REPORT_SIZE } from '../../core/snp/index.ts';

export const FRAME_MAGIC = 'SKSR';
export const FRAME_VERSION = 1;
export const FRAME_IOCTLS = {
  1: 'SNP_GET_EXT_REPORT',
  2: 'SNP_GET_REPORT',
  3: 'SEV_SNP_GUEST_MSG_REPORT',
} as const;
export type FrameIoctl = (typeof FRAME_IOCTLS)[keyof typeof FRAME_IOCTLS];
/** The kernel's cap on the extended report's certificate buffer (SEV_FW_BLOB_MAX_SIZE). */
const MAX_CERTS = 0x4000;
const PAGE = 4096;
const HEAD = 12;

export interface SevReportFrame {
  ioctl: FrameIoctl;
  /** The 0x4A0-byte ATTESTATION_REPORT. */
  report: Buffer;
  /** The certificate buffer the kernel filled (SNP_GET_EXT_REPORT only), when it holds a table. */
  certTable?: Buffer;
}

export class SevReportFrameError extends Error {}

export function parseSevReportFrame(out: Buffer): SevReportFrame {
  const bad = (why: string): SevReportFrameError => new SevReportFrameError(why);
  if (out.length < HEAD) throw bad(`${out.length} bytes, shorter than the 12-byte header`);
  if (out.subarray(0, 4).toString('latin1') !== FRAME_MAGIC) throw bad('the magic is not "SKSR"');
  const version = out.readUInt8(4);
  if (version !== FRAME_VERSION) throw bad(`frame version ${version}, expected ${FRAME_VERSION}`);
  const code = out.readUInt8(5);
  const ioctl = FRAME_IOCTLS[code as keyof typeof FRAME_IOCTLS] as FrameIoctl | undefined;
  if (ioctl === undefined) throw bad(`unknown ioctl code ${code}`);
  if (out.readUInt16LE(6) !== 0) throw bad('the reserved header bytes are not zero');
  const reportLength = out.readUInt32LE(8);
  if (reportLength !== REPORT_SIZE) throw bad(`report length ${reportLength}, expected ${REPORT_SIZE}`);
  const certsAt = HEAD + reportLength;
  if (out.length < certsAt + 4)
    throw bad('the output ends inside the report or before the certificate length');
  const certsLength = out.readUInt32LE(certsAt);
  if (out.length !== certsAt + 4 + certsLength) {
    throw bad(`${out.length} bytes, but the lengths add up to ${certsAt + 4 + certsLength}`);
  }
  if (ioctl !== 'SNP_GET_EXT_REPORT' && certsLength !== 0) throw bad(`${ioctl} carries no certificates`);
  if (certsLength > MAX_CERTS || certsLength % PAGE !== 0) {
    throw bad(`certificate buffer of ${certsLength} bytes is not whole pages up to ${MAX_CERTS}`);
  }
  const report = Buffer.from(out.subarray(HEAD, certsAt));
  const certs = out.subarray(certsAt + 4);
  // A host without certificates leaves the buffer zeroed: no table, not an empty one.
  const hasTable = certs.length > 0 && certs.subarray(0, 24).some((b) => b !== 0);
  return { ioctl, report, ...(hasTable ? { certTable: Buffer.from(certs) } : {}) };
}
