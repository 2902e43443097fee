/*
 * TESTS ONLY. Issues one raw ioctl on /dev/sev-guest with chosen fields, to check that the shim and
 * the simulated kernel answer malformed calls as drivers/virt/coco/sev-guest does.
 *   ioctl-probe REQUEST MSG_VERSION CERTS_LEN   (REQUEST in hex; CERTS_LEN 0 = no certificate buffer)
 * Prints "errno=N exitinfo2=0xX certs_len=N" (certs_len as the request struct holds it afterwards).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct guest_request {
  uint8_t msg_version;
  uint64_t req_data, resp_data, exitinfo2;
};
struct ext_report_req {
  uint8_t report_req[96];
  uint64_t certs_address;
  uint32_t certs_len;
};

int main(int argc, char **argv) {
  static uint8_t rsp[4000], certs[0x4000];
  if (argc != 4) return 2;
  unsigned long request = strtoul(argv[1], NULL, 16);
  struct ext_report_req req;
  memset(&req, 0, sizeof req);
  req.certs_len = (uint32_t)strtoul(argv[3], NULL, 10);
  req.certs_address = req.certs_len ? (uint64_t)(uintptr_t)certs : 0;
  struct guest_request io = {(uint8_t)atoi(argv[2]), (uint64_t)(uintptr_t)&req, (uint64_t)(uintptr_t)rsp, 0};
  int fd = open("/dev/sev-guest", O_RDWR);
  if (fd < 0) return perror("open"), 3;
  int rc = ioctl(fd, request, &io);
  printf("errno=%d exitinfo2=0x%llx certs_len=%u\n", rc ? errno : 0, (unsigned long long)io.exitinfo2,
         req.certs_len);
  close(fd);
  return 0;
}
