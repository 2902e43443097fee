/*
 * TESTS ONLY. An LD_PRELOAD shim that gives a process `/dev/sev-guest` and `/dev/sev` backed by the
 * simulated guest's device socket (sim/sev, protocol in sim/sev/README.md "The device socket"), so
 * the real sev-report helper runs its real ioctls against the simulated kernel side.
 *
 * The shim is the syscall boundary: open/openat on the two device paths, then ioctl and close on the
 * descriptors it handed out; every other path and descriptor goes to libc untouched. It copies from
 * and to the caller's memory what the kernel would (copy_from_user / copy_to_user):
 *   /dev/sev-guest: the 32-byte snp_guest_request_ioctl; at req_data the request struct of the
 *     command (SNP_GET_REPORT: 96 bytes, SNP_GET_EXT_REPORT: 112, others: none); resp_data receives
 *     the 4000-byte snp_report_resp; certs_address receives certs_len bytes.
 *   /dev/sev: the 40-byte sev_snp_guest_request; request_len bytes at request_uaddr (at most 96 are
 *     read: the simulator refuses any other length); response_len bytes at response_uaddr.
 * Which command is known, msg_version, null pointers, the certificate buffer handshake (EIO, VMM
 * error INVALID_LEN, certs_len written back), throttling and firmware errors are decided by the
 * simulator's FakeSevGuest, which follows drivers/virt/coco/sev-guest/sev-guest.c.
 *
 * Environment:
 *   FAKE_SEV_SOCKET        the device socket; unset → the shim does nothing
 *   FAKE_SEV_OPEN_ERRNO    fail open() of a device path with this errno (e.g. 13: a node the
 *                          agent's uid may not open — the tests run as root, where chmod cannot)
 *   FAKE_SEV_NO_EXT_REPORT 1 → SNP_GET_EXT_REPORT is unknown to this "driver" (ENOTTY, exitinfo2
 *                          0xff written back, as snp_guest_ioctl does for unknown commands)
 * A device the simulated guest does not have (the socket's `devices` answer) cannot be opened
 * (ENOENT), as a missing node.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 1024
#define DEV_SEV_GUEST 0
#define DEV_SEV 1
#define SNP_GET_REPORT 0xC0205300u
#define SNP_GET_EXT_REPORT 0xC0205302u
#define SNP_REPORT_RESP_SIZE 4000u
#define MAX_FRAME (1u << 20)

static const char *const DEVICE_PATHS[] = {"/dev/sev-guest", "/dev/sev"};
/* fd → device + 1 (0: not ours). */
static unsigned char fds[MAX_FDS];

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);

static void resolve(void) {
  if (!real_open) real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
  if (!real_openat) real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
  if (!real_close) real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
  if (!real_ioctl) real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
}

static int device_of(const char *path) {
  if (!path || !getenv("FAKE_SEV_SOCKET")) return -1;
  for (int i = 0; i < 2; i++)
    if (strcmp(path, DEVICE_PATHS[i]) == 0) return i;
  return -1;
}

/* ---- the device socket: u32 length, then the body; integers little-endian ---- */

struct buf {
  uint8_t *p;
  size_t len, cap;
};

static int put(struct buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 0;
}
static int put8(struct buf *b, uint8_t v) { return put(b, &v, 1); }
static int put32(struct buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  return put(b, x, 4);
}
static int put_blob(struct buf *b, const void *data, uint32_t n) { return put32(b, n) || put(b, data, n); }

struct reader {
  const uint8_t *p;
  size_t len, at;
  int bad;
};
static uint32_t get32(struct reader *r) {
  if (r->at + 4 > r->len) return r->bad = 1, 0;
  const uint8_t *x = r->p + r->at;
  r->at += 4;
  return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}
static uint8_t get8(struct reader *r) {
  if (r->at + 1 > r->len) return r->bad = 1, 0;
  return r->p[r->at++];
}
static uint64_t get64(struct reader *r) {
  uint64_t lo = get32(r);
  return lo | (uint64_t)get32(r) << 32;
}
/* A blob: its bytes (in the frame) and length; absent (0xFFFFFFFF) → NULL. */
static const uint8_t *get_blob(struct reader *r, uint32_t *n) {
  *n = get32(r);
  if (r->bad || *n == 0xFFFFFFFFu) return NULL;
  if (r->at + *n > r->len) return r->bad = 1, NULL;
  const uint8_t *p = r->p + r->at;
  r->at += *n;
  return p;
}

static int io_all(int fd, void *p, size_t n, int writing) {
  uint8_t *q = p;
  while (n > 0) {
    ssize_t k = writing ? write(fd, q, n) : read(fd, q, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    q += k;
    n -= (size_t)k;
  }
  return 0;
}

/* One request body → one response body (malloc'd), over a fresh connection. */
static uint8_t *exchange(const struct buf *body, size_t *rlen) {
  const char *path = getenv("FAKE_SEV_SOCKET");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (!path || strlen(path) >= sizeof addr.sun_path) return NULL;
  strcpy(addr.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return NULL;
  uint8_t head[4] = {(uint8_t)body->len, (uint8_t)(body->len >> 8), (uint8_t)(body->len >> 16),
                     (uint8_t)(body->len >> 24)};
  uint8_t *out = NULL;
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0 && io_all(s, head, 4, 1) == 0 &&
      io_all(s, body->p, body->len, 1) == 0 && io_all(s, head, 4, 0) == 0) {
    size_t n = (size_t)head[0] | (size_t)head[1] << 8 | (size_t)head[2] << 16 | (size_t)head[3] << 24;
    if (n <= MAX_FRAME && (out = malloc(n ? n : 1)) && io_all(s, out, n, 0) == 0) *rlen = n;
    else {
      free(out);
      out = NULL;
    }
  }
  real_close(s);
  return out;
}

/* Starts a request body: version 1, op, id 1. */
static int begin(struct buf *b, uint8_t op) { return put8(b, 1) || put8(b, op) || put32(b, 1); }

/* Does the simulated guest have this device? (op 0x02 devices). -1: the socket failed. */
static int guest_has(int dev) {
  struct buf b = {0};
  size_t n = 0;
  if (begin(&b, 0x02)) return free(b.p), -1;
  uint8_t *rsp = exchange(&b, &n);
  free(b.p);
  if (!rsp) return -1;
  struct reader r = {rsp, n, 0, 0};
  get8(&r), get8(&r), get32(&r), get32(&r); /* version, op, id, errno */
  uint32_t count = get32(&r), len;
  int found = 0;
  for (uint32_t i = 0; i < count && !r.bad; i++) {
    const uint8_t *s = get_blob(&r, &len);
    if (s && len == strlen(DEVICE_PATHS[dev]) && memcmp(s, DEVICE_PATHS[dev], len) == 0) found = 1;
  }
  free(rsp);
  return r.bad ? -1 : found;
}

static int fake_open(int dev, int flags) {
  const char *forced = getenv("FAKE_SEV_OPEN_ERRNO");
  if (forced && *forced) return errno = atoi(forced), -1;
  int has = guest_has(dev);
  if (has < 0) return errno = EIO, -1;
  if (!has) return errno = ENOENT, -1;
  /* A real descriptor (of /dev/null) so dup/close/fcntl behave; ioctl on it is ours. */
  int fd = real_open("/dev/null", flags & (O_RDWR | O_WRONLY | O_CLOEXEC));
  if (fd >= 0 && fd < MAX_FDS) fds[fd] = (unsigned char)(dev + 1);
  else if (fd >= 0) return real_close(fd), errno = EMFILE, -1;
  return fd;
}

static int open_common(const char *path, int flags, va_list ap) {
  resolve();
  int dev = device_of(path);
  if (dev >= 0) return fake_open(dev, flags);
  if (flags & (O_CREAT | O_TMPFILE)) return real_open(path, flags, va_arg(ap, mode_t));
  return real_open(path, flags);
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int fd = open_common(path, flags, ap);
  va_end(ap);
  return fd;
}
int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int fd = open_common(path, flags, ap);
  va_end(ap);
  return fd;
}
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open(path, flags); }

static int openat_common(int dirfd, const char *path, int flags, va_list ap) {
  resolve();
  int dev = path && path[0] == '/' ? device_of(path) : -1;
  if (dev >= 0) return fake_open(dev, flags);
  if (flags & (O_CREAT | O_TMPFILE)) return real_openat(dirfd, path, flags, va_arg(ap, mode_t));
  return real_openat(dirfd, path, flags);
}
int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int fd = openat_common(dirfd, path, flags, ap);
  va_end(ap);
  return fd;
}
int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int fd = openat_common(dirfd, path, flags, ap);
  va_end(ap);
  return fd;
}

int close(int fd) {
  resolve();
  if (fd >= 0 && fd < MAX_FDS) fds[fd] = 0;
  return real_close(fd);
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The ioctl as the simulated kernel answers it. */
static int fake_ioctl(int dev, uint32_t request, void *argp) {
  if (!argp) return errno = EFAULT, -1;
  uint8_t arg[40];
  const uint32_t arg_size = dev == DEV_SEV ? 40 : 32;
  memcpy(arg, argp, arg_size);
  void *req_ptr, *rsp_ptr, *certs_ptr = NULL;
  uint32_t req_size = 0, rsp_size = 0, certs_size = 0;
  if (dev == DEV_SEV_GUEST) {
    if (request == SNP_GET_EXT_REPORT && getenv("FAKE_SEV_NO_EXT_REPORT")) {
      /* snp_guest_ioctl: exitinfo2 = 0xff, unknown command → ENOTTY, struct copied back. */
      if (arg[0] != 0) {
        uint64_t ff = 0xff;
        memcpy((uint8_t *)argp + 24, &ff, 8);
        return errno = ENOTTY, -1;
      }
    }
    req_ptr = (void *)(uintptr_t)rd64(arg + 8);
    rsp_ptr = (void *)(uintptr_t)rd64(arg + 16);
    if (request == SNP_GET_REPORT || request == SNP_GET_EXT_REPORT) {
      req_size = req_ptr ? (request == SNP_GET_REPORT ? 96 : 112) : 0;
      rsp_size = rsp_ptr ? SNP_REPORT_RESP_SIZE : 0;
    }
    if (request == SNP_GET_EXT_REPORT && req_ptr) {
      const uint8_t *r = req_ptr;
      certs_ptr = (void *)(uintptr_t)rd64(r + 96);
      certs_size = certs_ptr ? rd32(r + 104) : 0;
    }
  } else {
    req_ptr = (void *)(uintptr_t)rd64(arg + 8);
    rsp_ptr = (void *)(uintptr_t)rd64(arg + 24);
    req_size = req_ptr ? rd16(arg + 4) : 0;
    if (req_size > 96) req_size = 96;
    rsp_size = rsp_ptr ? rd16(arg + 16) : 0;
  }

  struct buf b = {0};
  if (begin(&b, 0x01) || put8(&b, (uint8_t)dev) || put32(&b, request) || put_blob(&b, arg, arg_size) ||
      put_blob(&b, req_ptr ? req_ptr : "", req_size) || put32(&b, rsp_size) || put32(&b, certs_size))
    return free(b.p), errno = ENOMEM, -1;
  size_t n = 0;
  uint8_t *rsp = exchange(&b, &n);
  free(b.p);
  if (!rsp) return errno = EIO, -1;
  struct reader r = {rsp, n, 0, 0};
  get8(&r), get8(&r), get32(&r);
  uint32_t err = get32(&r);
  (void)get64(&r); /* exitinfo2: also inside the returned struct */
  uint32_t len;
  const uint8_t *p = get_blob(&r, &len);
  if (p && len == arg_size) memcpy(argp, p, len);
  p = get_blob(&r, &len);
  if (p && req_ptr && len <= req_size) memcpy(req_ptr, p, len);
  p = get_blob(&r, &len);
  if (p && rsp_ptr && len <= rsp_size) memcpy(rsp_ptr, p, len);
  p = get_blob(&r, &len);
  if (p && certs_ptr && len <= certs_size) memcpy(certs_ptr, p, len);
  int bad = r.bad;
  free(rsp);
  if (bad) return errno = EIO, -1;
  if (err) return errno = (int)err, -1;
  return 0;
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void *argp = va_arg(ap, void *);
  va_end(ap);
  resolve();
  if (fd >= 0 && fd < MAX_FDS && fds[fd]) {
    /* The kernel's ioctl command is 32 bits; a wider value is no command of this driver. */
    if (request > 0xFFFFFFFFul) return errno = ENOTTY, -1;
    return fake_ioctl(fds[fd] - 1, (uint32_t)request, argp);
  }
  return real_ioctl(fd, request, argp);
}
