/**
 * /dev/sev-guest and /dev/sev, driven with structs built byte by byte from the kernel headers
 * (Linux `sev-guest.h` ioctls and configfs-tsm), in process and over the device socket.
 */
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findCertTableEntry,
  parseCertTable,
  parseReport,
  verifyAttestation,
  verifyReportSignature,
} from '../../core/snp/index.ts';
import { FakeAmd, ReportSigner } from '../amd/index.ts';
import { simulatedGuest, type SimulatedGuest, type SimulatedGuestOptions } from './index.ts';
import { TRANSPORTS, type GuestTransport } from '../../test/support/sim/sev-transports.ts';

// _IOWR('S', nr, size) = 3 << 30 | size << 16 | 'S' << 8 | nr
const SNP_GET_REPORT = 0xc0205300;
const SNP_GET_DERIVED_KEY = 0xc0205301;
const SNP_GET_EXT_REPORT = 0xc0205302;
const SEV_SNP_GUEST_MSG_REPORT = 0xc0285301;
const EINVAL = 22;
const EIO = 5;
const ENOTTY = 25;
const EBUSY = 16;
const EAGAIN = 11;
const EFAULT = 14;

const amd = new FakeAmd();
const hostData = Buffer.from('cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c', 'hex');
const reportData = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
const now = new Date();

/** struct snp_guest_request_ioctl { u8 msg_version; u64 req_data; u64 resp_data; u64 exitinfo2; } */
function guestRequestIoctl(msgVersion: number, reqData = 0x7f00_1000n, respData = 0x7f00_2000n): Buffer {
  const b = Buffer.alloc(32);
  b[0] = msgVersion;
  b.writeBigUInt64LE(reqData, 8);
  b.writeBigUInt64LE(respData, 16);
  return b;
}

/** MSG_REPORT_REQ { u8 report_data[64]; u32 vmpl; u8 rsvd[28]; } */
function msgReportReq(vmpl = 0, reserved = 0): Buffer {
  const b = Buffer.alloc(96);
  reportData.copy(b, 0);
  b.writeUInt32LE(vmpl, 64);
  b[0x44 + 27] = reserved;
  return b;
}

/** struct snp_ext_report_req { snp_report_req data; u64 certs_address; u32 certs_len; } (112 with padding) */
function extReportReq(certsLen: number, certsAddress = 0x7f00_3000n): Buffer {
  const b = Buffer.alloc(112);
  msgReportReq().copy(b, 0);
  b.writeBigUInt64LE(certsAddress, 96);
  b.writeUInt32LE(certsLen, 104);
  return b;
}

/** struct sev_snp_guest_request (5.x): types @0/@1, version @2, request_len u16 @4, request_uaddr @8, response_len u16 @16, response_uaddr @24, error u32 @32. */
function sevGuestRequest(
  o: { reqType?: number; rspType?: number; version?: number; responseLen?: number } = {},
): Buffer {
  const b = Buffer.alloc(40);
  b[0] = o.reqType ?? 5;
  b[1] = o.rspType ?? 6;
  b[2] = o.version ?? 1;
  b.writeUInt16LE(96, 4);
  b.writeBigUInt64LE(0x7f00_1000n, 8);
  b.writeUInt16LE(o.responseLen ?? 1280, 16);
  b.writeBigUInt64LE(0x7f00_2000n, 24);
  return b;
}

/** MSG_REPORT_RSP: status u32 @0, report_size u32 @4, report @0x20. */
function reportRsp(response: Buffer): { status: number; size: number; report: Buffer } {
  return {
    status: response.readUInt32LE(0),
    size: response.readUInt32LE(4),
    report: response.subarray(0x20, 0x20 + 0x4a0),
  };
}

const exitinfo2 = (arg: Buffer) => arg.readBigUInt64LE(24);

for (const [name, connect] of TRANSPORTS) {
  describe(`/dev/sev-guest (Linux 6.x ABI), ${name}`, () => {
    let transport: GuestTransport | undefined;
    let guest: SimulatedGuest;
    let clock = 0;
    afterEach(async () => {
      await transport?.close();
      transport = undefined;
    });
    const start = async (options: Partial<SimulatedGuestOptions> = {}) => {
      guest = simulatedGuest({
        signer: new ReportSigner(amd, { hostData }),
        interfaces: ['sev-guest', 'sev', 'tsm'],
        now: () => clock,
        ...options,
      });
      transport = await connect(guest);
      return transport;
    };
    const getReport = (
      t: GuestTransport,
      arg = guestRequestIoctl(1),
      req = msgReportReq(),
      responseSize = 4000,
    ) => t.ioctl('sev-guest', { request: SNP_GET_REPORT, arg, requestBuffer: req, responseSize });

    it('SNP_GET_REPORT returns MSG_REPORT_RSP in a 4000-byte buffer: our REPORT_DATA, the launch HOST_DATA, signed', async () => {
      const t = await start();
      const r = await getReport(t);
      expect(r.errno).toBe(0);
      expect(r.response).toHaveLength(4000);
      const rsp = reportRsp(r.response!);
      expect(rsp.status).toBe(0);
      expect(rsp.size).toBe(0x4a0);
      expect(r.response!.subarray(0x20 + 0x4a0).every((b) => b === 0)).toBe(true);
      const verified = verifyAttestation(
        { report: rsp.report, ...amd.chain() },
        { now, trustedArk: amd.ark },
      );
      expect(verified.report.reportData).toEqual(reportData);
      expect(verified.report.hostData).toEqual(hostData);
      expect(verified.report.vmpl).toBe(0);
      // Success leaves exitinfo2 as the caller wrote it (the kernel copies the struct back only on error).
      expect(exitinfo2(r.arg)).toBe(0n);
    });

    it('msg_version 0 → EINVAL, struct untouched', async () => {
      const t = await start();
      const r = await getReport(t, guestRequestIoctl(0));
      expect(r.errno).toBe(EINVAL);
      expect(r.response).toBeUndefined();
      expect(exitinfo2(r.arg)).toBe(0n);
    });

    it('a null req_data → EINVAL with exitinfo2 0xff (no firmware call)', async () => {
      const t = await start();
      const r = await getReport(t, guestRequestIoctl(1, 0n));
      expect(r.errno).toBe(EINVAL);
      expect(exitinfo2(r.arg)).toBe(0xffn);
    });

    it('non-zero reserved bytes or VMPL > 3: the firmware answers status 0x16 INVALID_PARAM', async () => {
      const t = await start();
      for (const req of [msgReportReq(0, 1), msgReportReq(4)]) {
        const r = await getReport(t, guestRequestIoctl(1), req);
        expect(r.errno).toBe(0);
        expect(reportRsp(r.response!)).toMatchObject({ status: 0x16, size: 0 });
      }
      expect(guest.channel.stats.rejected).toBe(2);
    });

    it('VMPL 1–3 is reported as asked', async () => {
      const t = await start();
      const r = await getReport(t, guestRequestIoctl(1), msgReportReq(3));
      expect(parseReport(reportRsp(r.response!).report).vmpl).toBe(3);
    });

    it('a firmware error → EIO with fw_error in exitinfo2; the wiped VMPCK then gives ENOTTY until reboot', async () => {
      const t = await start();
      guest.channel.injectFirmwareError(0x17);
      const failed = await getReport(t);
      expect(failed.errno).toBe(EIO);
      expect(failed.exitinfo2).toBe(0x17n);
      expect(exitinfo2(failed.arg)).toBe(0x17n);
      expect(failed.response).toBeUndefined();
      expect((await getReport(t)).errno).toBe(ENOTTY);
      guest.channel.reboot();
      expect((await getReport(t)).errno).toBe(0);
    });

    it('with wipeVmpckOnError off, a firmware error affects one request only', async () => {
      const t = await start({ wipeVmpckOnError: false });
      guest.channel.injectFirmwareError(0x16, 2);
      expect((await getReport(t)).exitinfo2).toBe(0x16n);
      expect((await getReport(t)).exitinfo2).toBe(0x16n);
      expect((await getReport(t)).errno).toBe(0);
    });

    it('throttling: the request after N per interval → EBUSY with VMM error BUSY, then recovers', async () => {
      clock = 0;
      const t = await start({ throttle: { limit: 2, intervalMs: 1000 } });
      expect((await getReport(t)).errno).toBe(0);
      expect((await getReport(t)).errno).toBe(0);
      const throttled = await getReport(t);
      expect(throttled.errno).toBe(EBUSY);
      expect(throttled.exitinfo2).toBe(2n << 32n);
      clock = 1000;
      expect((await getReport(t)).errno).toBe(0);
      expect(guest.channel.stats.throttled).toBe(1);
    });

    it('throttling can answer EAGAIN instead', async () => {
      clock = 0;
      const t = await start({ throttle: { limit: 0, intervalMs: 1000, errno: 'EAGAIN' } });
      expect((await getReport(t)).errno).toBe(EAGAIN);
    });

    it('SNP_GET_DERIVED_KEY is not simulated (ENOTTY); a response buffer under 4000 bytes is EFAULT', async () => {
      const t = await start();
      const key = await t.ioctl('sev-guest', {
        request: SNP_GET_DERIVED_KEY,
        arg: guestRequestIoctl(1),
        requestBuffer: Buffer.alloc(32),
        responseSize: 64,
      });
      expect(key.errno).toBe(ENOTTY);
      expect((await getReport(t, guestRequestIoctl(1), msgReportReq(), 1184)).errno).toBe(EFAULT);
    });

    it('SNP_GET_EXT_REPORT: certs_len 0 → EIO + INVALID_LEN and the needed length; then the certificates', async () => {
      const t = await start();
      const first = await t.ioctl('sev-guest', {
        request: SNP_GET_EXT_REPORT,
        arg: guestRequestIoctl(1),
        requestBuffer: extReportReq(0),
        responseSize: 4000,
      });
      expect(first.errno).toBe(EIO);
      expect(first.exitinfo2).toBe(1n << 32n); // vmm_error SNP_GUEST_VMM_ERR_INVALID_LEN
      const needed = first.requestBuffer!.readUInt32LE(104);
      expect(needed % 4096).toBe(0);
      expect(needed).toBeGreaterThanOrEqual(amd.certTable().length);
      expect(guest.channel.vmpckWiped).toBe(false);

      const tooSmall = await t.ioctl('sev-guest', {
        request: SNP_GET_EXT_REPORT,
        arg: guestRequestIoctl(1),
        requestBuffer: extReportReq(needed - 4096),
        responseSize: 4000,
        certsSize: needed - 4096,
      });
      expect([tooSmall.errno, tooSmall.requestBuffer?.readUInt32LE(104)]).toEqual([EIO, needed]);

      const second = await t.ioctl('sev-guest', {
        request: SNP_GET_EXT_REPORT,
        arg: guestRequestIoctl(1),
        requestBuffer: extReportReq(needed),
        responseSize: 4000,
        certsSize: needed,
      });
      expect(second.errno).toBe(0);
      expect(second.certs).toHaveLength(needed);
      const report = reportRsp(second.response!).report;
      const vcek = new X509Certificate(findCertTableEntry(parseCertTable(second.certs!), 'vcek')!);
      verifyReportSignature(report, vcek);
      expect(parseReport(report).hostData).toEqual(hostData);
    });

    it('SNP_GET_EXT_REPORT: certs_len not page-aligned or over 16 KiB → EINVAL; no host certificates → report only', async () => {
      const t = await start();
      for (const len of [100, 5 * 4096]) {
        const r = await t.ioctl('sev-guest', {
          request: SNP_GET_EXT_REPORT,
          arg: guestRequestIoctl(1),
          requestBuffer: extReportReq(len),
          responseSize: 4000,
          certsSize: len,
        });
        expect(r.errno).toBe(EINVAL);
      }
      await transport!.close();
      transport = undefined;
      const bare = await start({ certTable: null });
      const r = await bare.ioctl('sev-guest', {
        request: SNP_GET_EXT_REPORT,
        arg: guestRequestIoctl(1),
        requestBuffer: extReportReq(0),
        responseSize: 4000,
      });
      expect(r.errno).toBe(0);
      expect(reportRsp(r.response!).status).toBe(0);
    });

    it('/dev/sev (ACI 5.x): SEV_SNP_GUEST_MSG_REPORT fills a 1280-byte MSG_REPORT_RSP', async () => {
      const t = await start();
      const r = await t.ioctl('sev', {
        request: SEV_SNP_GUEST_MSG_REPORT,
        arg: sevGuestRequest(),
        requestBuffer: msgReportReq(),
        responseSize: 1280,
      });
      expect(r.errno).toBe(0);
      expect(r.response).toHaveLength(1280);
      const rsp = reportRsp(r.response!);
      expect([rsp.status, rsp.size]).toEqual([0, 0x4a0]);
      const verified = verifyAttestation(
        { report: rsp.report, ...amd.chain() },
        { now, trustedArk: amd.ark },
      );
      expect(verified.report.reportData).toEqual(reportData);
      expect(verified.report.hostData).toEqual(hostData);
    });

    it('/dev/sev: bad message types or version → EINVAL; firmware error → EIO with `error`; 6.x numbers → ENOTTY', async () => {
      const t = await start({ wipeVmpckOnError: false });
      const call = (arg: Buffer, request = SEV_SNP_GUEST_MSG_REPORT) =>
        t.ioctl('sev', { request, arg, requestBuffer: msgReportReq(), responseSize: 1280 });
      expect((await call(sevGuestRequest({ reqType: 3 }))).errno).toBe(EINVAL);
      expect((await call(sevGuestRequest({ version: 0 }))).errno).toBe(EINVAL);
      expect((await call(sevGuestRequest({ responseLen: 100 }))).errno).toBe(EINVAL);
      guest.channel.injectFirmwareError(0x16);
      const failed = await call(sevGuestRequest());
      expect(failed.errno).toBe(EIO);
      expect(failed.arg.readUInt32LE(32)).toBe(0x16);
      expect((await call(sevGuestRequest(), SNP_GET_REPORT)).errno).toBe(ENOTTY);
    });
  });
}
