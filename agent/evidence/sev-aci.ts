/**
 * Evidence from Azure Container Instances' older `/dev/sev` (Linux 5.15 with the out-of-tree
 * sev-snp guest driver), through the native helper. One ioctl, no certificates (the VCEK chain comes
 * from THIM or the UVM security context):
 *
 *   SEV_SNP_GUEST_MSG_REPORT = _IOWR('S', 0x1, struct sev_snp_guest_request) = 0xC0285301
 *   struct sev_snp_guest_request {            (40 bytes, SysV x86-64 padding)
 *     u8 req_msg_type @0 = 5 (MSG_REPORT_REQ); u8 rsp_msg_type @1 = 6; u8 msg_version @2 = 1;
 *     u16 request_len @4 = 96;  u64 request_uaddr @8  → MSG_REPORT_REQ (report_data[64], vmpl, rsvd);
 *     u16 response_len @16 = 1280; u64 response_uaddr @24 → MSG_REPORT_RSP (status @0, report @0x20);
 *     u32 error @32 (firmware error) }
 *
 * Source: microsoft/confidential-sidecar-containers pkg/attest/attestation_report_fetcher_linux.go
 * (realAttestationReportFetcher5, SNP_GET_REPORT_IOCTL_REQ_CODE_5 = 3223868161) and
 * tools/get-snp-report/snp-psp.h, both citing the sev-snp driver's include/uapi/linux/psp-sev-guest.h;
 * their probe order (snp_device_linux.go) is /dev/sev first, then /dev/sev-guest.
 * Not to be confused with mainline /dev/sev, the host's PSP device.
 */
import { DEFAULT_SEV_HELPER } from '../config.ts';
import type { Attester, Evidence } from './attester.ts';
import { sevReportViaHelper, type SevHelperOptions } from './native-helper.ts';
import type { SevDeviceOptions } from './sev-guest.ts';

export const SEV_ACI_DEVICE = '/dev/sev';

export class SevAciAttester implements Attester {
  readonly name = 'sev';
  readonly #o: SevHelperOptions;

  constructor(options: SevDeviceOptions = {}) {
    this.#o = {
      kind: 'sev',
      device: options.device ?? SEV_ACI_DEVICE,
      helper: options.helper ?? DEFAULT_SEV_HELPER,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    };
  }

  report(reportData: Buffer): Promise<Evidence> {
    return sevReportViaHelper(this.#o, reportData);
  }
}
