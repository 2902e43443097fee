/*
 * sev-report: one SEV-SNP attestation report from a guest device, for the SecureKey agent (Node
 * cannot issue ioctls). libc only; build with agent/native/build.sh.
 *
 *   sev-report sev-guest [DEVICE]   Linux 5.19+/6.x /dev/sev-guest: SNP_GET_EXT_REPORT, then
 *                                   SNP_GET_REPORT if the driver does not know the extended call
 *   sev-report sev [DEVICE]         Azure ACI 5.15 /dev/sev: SEV_SNP_GUEST_MSG_REPORT
 *
 * stdin: exactly 64 bytes, the REPORT_DATA (VMPL 0 is always requested).
 * stdout, on success only (all integers little-endian):
 *   @0  "SKSR"       magic
 *   @4  u8  1        frame version
 *   @5  u8  ioctl    1 SNP_GET_EXT_REPORT, 2 SNP_GET_REPORT, 3 SEV_SNP_GUEST_MSG_REPORT
 *   @6  u16 0        reserved
 *   @8  u32 R        report length, then R bytes: the ATTESTATION_REPORT (MSG_REPORT_RSP @0x20)
 *       u32 C        certificate buffer length (0 unless ioctl 1), then C bytes: the buffer as the
 *                    kernel left it (GHCB certificate table, zeros if the host attached none)
 * stderr, on failure only: one line naming the device, the call, the errno name and the firmware /
 * VMM errors. Nothing else is ever printed (REPORT_DATA and the report only go to stdout).
 * Exit codes: 0 ok, 1 internal (I/O, memory), 2 usage, 3 no device, 4 permission denied,
 * 5 device or firmware error, 6 still throttled after retries, 7 malformed device answer.
 *
 * ABI sources (structs are redefined here so no kernel headers are needed; sizes are asserted):
 *  - include/uapi/linux/sev-guest.h (Linux 6.x): snp_guest_request_ioctl, snp_report_req,
 *    snp_ext_report_req, snp_report_resp; behaviour from drivers/virt/coco/sev-guest/sev-guest.c:
 *    a certificate buffer that is too small fails with EIO, exitinfo2 = VMM error INVALID_LEN
 *    (bits 63:32) and the needed length written back into certs_len; throttling is EBUSY/EAGAIN
 *    with VMM error BUSY; a failed firmware call wipes the VMPCK, after which every call is ENOTTY.
 *  - microsoft/confidential-sidecar-containers, pkg/attest/attestation_report_fetcher_linux.go
 *    (realAttestationReportFetcher5, SNP_GET_REPORT_IOCTL_REQ_CODE_5 = 3223868161 = 0xC0285301)
 *    and tools/get-snp-report/snp-psp.h, both "from sev-snp driver include/uapi/linux/
 *    psp-sev-guest.h" (the out-of-tree 5.15 driver ACI runs):
 *      struct sev_snp_guest_request {           offset
 *        uint8_t  req_msg_type;   = 5 (REPORT)  @0
 *        uint8_t  rsp_msg_type;   = 6           @1
 *        uint8_t  msg_version;    = 1           @2
 *        uint16_t request_len;    = 96          @4
 *        uint64_t request_uaddr;  MSG_REPORT_REQ @8
 *        uint16_t response_len;   = 1280        @16
 *        uint64_t response_uaddr; MSG_REPORT_RSP @24
 *        uint32_t error;          firmware error @32
 *      };                         40 bytes (SysV x86-64 padding)
 *      SEV_SNP_GUEST_MSG_REPORT = _IOWR('S', 0x1, struct sev_snp_guest_request)
 *    The driver's own source is not public; only its user-side ABI is known.
 *  - MSG_REPORT_REQ / MSG_REPORT_RSP: AMD SEV-SNP firmware ABI 56860 (report_data[64], vmpl,
 *    reserved[28]; status u32 @0, report_size u32 @4, report @0x20).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum exit_code {
  EXIT_OK = 0,
  EXIT_INTERNAL = 1,
  EXIT_USAGE = 2,
  EXIT_NO_DEVICE = 3,
  EXIT_PERMISSION = 4,
  EXIT_DEVICE = 5,
  EXIT_BUSY = 6,
  EXIT_MALFORMED = 7,
};

/* ---- include/uapi/linux/sev-guest.h ---- */
struct snp_report_req {
  uint8_t user_data[64];
  uint32_t vmpl;
  uint8_t rsvd[28];
};
struct snp_ext_report_req {
  struct snp_report_req data;
  uint64_t certs_address;
  uint32_t certs_len;
};
struct snp_guest_request_ioctl {
  uint8_t msg_version;
  uint64_t req_data;
  uint64_t resp_data;
  uint64_t exitinfo2; /* fw_error in bits 31:0, vmm_error in bits 63:32 */
};
#define SNP_REPORT_RESP_SIZE 4000
#define SNP_GET_REPORT _IOWR('S', 0x0, struct snp_guest_request_ioctl)
#define SNP_GET_EXT_REPORT _IOWR('S', 0x2, struct snp_guest_request_ioctl)
#define SNP_GUEST_VMM_ERR_INVALID_LEN 1u
#define SNP_GUEST_VMM_ERR_BUSY 2u

/* ---- ACI sev-snp driver psp-sev-guest.h (5.15) ---- */
struct sev_snp_guest_request {
  uint8_t req_msg_type;
  uint8_t rsp_msg_type;
  uint8_t msg_version;
  uint16_t request_len;
  uint64_t request_uaddr;
  uint16_t response_len;
  uint64_t response_uaddr;
  uint32_t error;
};
#define SEV_SNP_GUEST_MSG_REPORT _IOWR('S', 0x1, struct sev_snp_guest_request)
#define SNP_MSG_REPORT_REQ 5
#define SNP_MSG_REPORT_RSP 6
#define SEV_REPORT_RESP_SIZE 1280

_Static_assert(sizeof(struct snp_report_req) == 96, "MSG_REPORT_REQ is 96 bytes");
_Static_assert(sizeof(struct snp_ext_report_req) == 112, "snp_ext_report_req is 112 bytes");
_Static_assert(offsetof(struct snp_ext_report_req, certs_len) == 104, "certs_len @104");
_Static_assert(sizeof(struct snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl is 32 bytes");
_Static_assert(offsetof(struct snp_guest_request_ioctl, exitinfo2) == 24, "exitinfo2 @24");
_Static_assert(sizeof(struct sev_snp_guest_request) == 40, "sev_snp_guest_request is 40 bytes");
_Static_assert(offsetof(struct sev_snp_guest_request, response_len) == 16, "response_len @16");
_Static_assert(offsetof(struct sev_snp_guest_request, error) == 32, "error @32");
_Static_assert(SNP_GET_EXT_REPORT == 0xC0205302u, "SNP_GET_EXT_REPORT");
_Static_assert(SEV_SNP_GUEST_MSG_REPORT == 0xC0285301u, "SEV_SNP_GUEST_MSG_REPORT");

#define REPORT_DATA_SIZE 64
#define RSP_HEADER 0x20
#define PAGE 4096u
/* SEV_FW_BLOB_MAX_SIZE: the kernel refuses a larger certificate buffer with EINVAL. */
#define CERTS_MAX 0x4000u
/* VCEK + ASK + ARK (DER) and the table header fit in two pages; the kernel says if not. */
#define CERTS_INITIAL (2u * PAGE)
#define BUSY_ATTEMPTS 6

enum frame_ioctl { FRAME_EXT_REPORT = 1, FRAME_REPORT = 2, FRAME_ACI_REPORT = 3 };

static const char *device_path;

static const char *errno_name(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case EIO: return "EIO";
  case ENXIO: return "ENXIO";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case ENODEV: return "ENODEV";
  case EINVAL: return "EINVAL";
  case ENOTTY: return "ENOTTY";
  case ENOSPC: return "ENOSPC";
  case EROFS: return "EROFS";
  case ENOSYS: return "ENOSYS";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EINTR: return "EINTR";
  default: return NULL;
  }
}

/* "ENOENT", or "errno 123" for names not in the table. */
static const char *errno_text(int e, char *buf, size_t n) {
  const char *name = errno_name(e);
  if (name) return name;
  snprintf(buf, n, "errno %d", e);
  return buf;
}

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "sev-report: %s: %s\n", device_path ? device_path : "-", line);
  return code;
}

static int usage(const char *why) {
  fprintf(stderr, "sev-report: usage: sev-report sev-guest|sev [DEVICE] < report_data(64 bytes): %s\n", why);
  return EXIT_USAGE;
}

/* Exactly 64 bytes, then end of input. */
static int read_report_data(uint8_t out[REPORT_DATA_SIZE]) {
  size_t got = 0;
  uint8_t extra;
  while (got < REPORT_DATA_SIZE) {
    ssize_t n = read(STDIN_FILENO, out + got, REPORT_DATA_SIZE - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  if (got != REPORT_DATA_SIZE) return -1;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, &extra, 1);
    if (n < 0 && errno == EINTR) continue;
    return n == 0 ? 0 : -1;
  }
}

static int write_all(const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int emit(enum frame_ioctl kind, const uint8_t *report, uint32_t report_len, const uint8_t *certs,
                uint32_t certs_len) {
  uint8_t head[12] = {'S', 'K', 'S', 'R', 1, (uint8_t)kind, 0, 0};
  uint8_t len[4];
  le32(head + 8, report_len);
  le32(len, certs_len);
  if (write_all(head, sizeof head) || write_all(report, report_len) || write_all(len, sizeof len) ||
      (certs_len && write_all(certs, certs_len)))
    return fail(EXIT_INTERNAL, "writing the report to stdout failed: %s", strerror(errno));
  return EXIT_OK;
}

/* MSG_REPORT_RSP: a firmware status, then the report at 0x20. */
static int emit_response(enum frame_ioctl kind, const char *call, const uint8_t *rsp, size_t rsp_size,
                         const uint8_t *certs, uint32_t certs_len) {
  uint32_t status = rd32(rsp), size = rd32(rsp + 4);
  if (status != 0)
    return fail(EXIT_DEVICE, "%s: MSG_REPORT_RSP status 0x%x (firmware refused the request)", call, status);
  if (size == 0 || size > rsp_size - RSP_HEADER)
    return fail(EXIT_MALFORMED, "%s: MSG_REPORT_RSP report_size %u does not fit the response", call, size);
  return emit(kind, rsp + RSP_HEADER, size, certs, certs_len);
}

static void backoff(int attempt) {
  struct timespec ts = {0, 100L * 1000 * 1000 << (attempt < 3 ? attempt : 3)}; /* 100..800 ms */
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int is_busy(int e) { return e == EBUSY || e == EAGAIN; }

static int ioctl_failure(const char *call, int e, uint64_t exitinfo2, int busy_exhausted) {
  char buf[24];
  return fail(busy_exhausted ? EXIT_BUSY : EXIT_DEVICE, "%s failed: %s (firmware error 0x%x, VMM error %u)",
              call, errno_text(e, buf, sizeof buf), (unsigned)(exitinfo2 & 0xffffffffu),
              (unsigned)(exitinfo2 >> 32));
}

/* SNP_GET_REPORT: the report without certificates. */
static int sev_guest_report(int fd, const uint8_t *report_data, const char *after) {
  static uint8_t rsp[SNP_REPORT_RESP_SIZE];
  struct snp_report_req req;
  struct snp_guest_request_ioctl io;
  char call[96];
  snprintf(call, sizeof call, "SNP_GET_REPORT%s%s%s", after ? " (after SNP_GET_EXT_REPORT: " : "",
           after ? after : "", after ? ")" : "");
  for (int attempt = 1;; attempt++) {
    memset(&req, 0, sizeof req);
    memcpy(req.user_data, report_data, REPORT_DATA_SIZE);
    memset(rsp, 0, sizeof rsp);
    memset(&io, 0, sizeof io);
    io.msg_version = 1;
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)rsp;
    if (ioctl(fd, SNP_GET_REPORT, &io) == 0)
      return emit_response(FRAME_REPORT, call, rsp, sizeof rsp, NULL, 0);
    int e = errno;
    if (is_busy(e) && attempt < BUSY_ATTEMPTS) {
      backoff(attempt - 1);
      continue;
    }
    return ioctl_failure(call, e, io.exitinfo2, is_busy(e));
  }
}

/* SNP_GET_EXT_REPORT with a certificate buffer, grown once to what the host asks for. */
static int sev_guest_ext_report(int fd, const uint8_t *report_data) {
  static uint8_t rsp[SNP_REPORT_RESP_SIZE];
  static uint8_t certs[CERTS_MAX];
  uint32_t certs_len = CERTS_INITIAL;
  int grown = 0, busy = 0;
  struct snp_ext_report_req req;
  struct snp_guest_request_ioctl io;
  for (;;) {
    memset(&req, 0, sizeof req);
    memcpy(req.data.user_data, report_data, REPORT_DATA_SIZE);
    req.certs_address = (uint64_t)(uintptr_t)certs;
    req.certs_len = certs_len;
    memset(certs, 0, sizeof certs);
    memset(rsp, 0, sizeof rsp);
    memset(&io, 0, sizeof io);
    io.msg_version = 1;
    io.req_data = (uint64_t)(uintptr_t)&req;
    io.resp_data = (uint64_t)(uintptr_t)rsp;
    if (ioctl(fd, SNP_GET_EXT_REPORT, &io) == 0)
      return emit_response(FRAME_EXT_REPORT, "SNP_GET_EXT_REPORT", rsp, sizeof rsp, certs, certs_len);
    int e = errno;
    uint32_t vmm = (uint32_t)(io.exitinfo2 >> 32);
    if (vmm == SNP_GUEST_VMM_ERR_INVALID_LEN && !grown) {
      /* The kernel wrote the length the host needs into certs_len (whole pages, at most CERTS_MAX). */
      uint32_t needed = req.certs_len;
      if (needed > certs_len && needed <= CERTS_MAX && needed % PAGE == 0) {
        certs_len = needed;
        grown = 1;
        continue;
      }
      return fail(EXIT_DEVICE, "SNP_GET_EXT_REPORT failed: %s (VMM error INVALID_LEN: the host needs %u bytes "
                  "of certificates, more than the kernel's %u)", errno_name(e) ? errno_name(e) : "error",
                  needed, CERTS_MAX);
    }
    if (is_busy(e) && ++busy < BUSY_ATTEMPTS) {
      backoff(busy - 1);
      continue;
    }
    /* A driver without the extended call (or an SVSM-only configuration): the plain report. */
    if (e == ENOTTY || e == EOPNOTSUPP) return sev_guest_report(fd, report_data, errno_name(e));
    if (vmm == SNP_GUEST_VMM_ERR_INVALID_LEN)
      return fail(EXIT_DEVICE, "SNP_GET_EXT_REPORT failed: %s (VMM error INVALID_LEN again after growing the "
                  "certificate buffer to %u bytes)", errno_name(e) ? errno_name(e) : "error", certs_len);
    return ioctl_failure("SNP_GET_EXT_REPORT", e, io.exitinfo2, is_busy(e));
  }
}

/* ACI /dev/sev: SEV_SNP_GUEST_MSG_REPORT; no certificates on this path. */
static int aci_report(int fd, const uint8_t *report_data) {
  static uint8_t rsp[SEV_REPORT_RESP_SIZE];
  struct snp_report_req req;
  struct sev_snp_guest_request io;
  char buf[24];
  for (int attempt = 1;; attempt++) {
    memset(&req, 0, sizeof req);
    memcpy(req.user_data, report_data, REPORT_DATA_SIZE);
    memset(rsp, 0, sizeof rsp);
    memset(&io, 0, sizeof io);
    io.req_msg_type = SNP_MSG_REPORT_REQ;
    io.rsp_msg_type = SNP_MSG_REPORT_RSP;
    io.msg_version = 1;
    io.request_len = sizeof req;
    io.request_uaddr = (uint64_t)(uintptr_t)&req;
    io.response_len = sizeof rsp;
    io.response_uaddr = (uint64_t)(uintptr_t)rsp;
    if (ioctl(fd, SEV_SNP_GUEST_MSG_REPORT, &io) == 0)
      return emit_response(FRAME_ACI_REPORT, "SEV_SNP_GUEST_MSG_REPORT", rsp, sizeof rsp, NULL, 0);
    int e = errno;
    if (is_busy(e) && attempt < BUSY_ATTEMPTS) {
      backoff(attempt - 1);
      continue;
    }
    return fail(is_busy(e) ? EXIT_BUSY : EXIT_DEVICE, "SEV_SNP_GUEST_MSG_REPORT failed: %s (firmware error 0x%x)",
                errno_text(e, buf, sizeof buf), io.error);
  }
}

int main(int argc, char **argv) {
  uint8_t report_data[REPORT_DATA_SIZE];
  int aci;
  if (argc < 2 || argc > 3) return usage("expected the device kind and optionally its path");
  if (strcmp(argv[1], "sev-guest") == 0) aci = 0;
  else if (strcmp(argv[1], "sev") == 0) aci = 1;
  else return usage("the device kind is sev-guest or sev");
  device_path = argc == 3 ? argv[2] : aci ? "/dev/sev" : "/dev/sev-guest";
  if (device_path[0] != '/') return usage("the device path must be absolute");
  if (read_report_data(report_data) != 0) return usage("expected exactly 64 bytes of REPORT_DATA on stdin");

  int fd = open(device_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    char buf[24];
    const char *name = errno_text(e, buf, sizeof buf);
    if (e == ENOENT || e == ENODEV || e == ENXIO || e == ENOTDIR) return fail(EXIT_NO_DEVICE, "open failed: %s", name);
    if (e == EACCES || e == EPERM || e == EROFS) return fail(EXIT_PERMISSION, "open failed: %s", name);
    return fail(EXIT_INTERNAL, "open failed: %s", name);
  }
  int rc = aci ? aci_report(fd, report_data) : sev_guest_ext_report(fd, report_data);
  close(fd);
  return rc;
}
