#include "shmkit.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

SHK_API int64_t shk_eventfd(uint32_t initval) {
  int fd = eventfd(initval, EFD_CLOEXEC | EFD_NONBLOCK);
  return fd < 0 ? SHK_ERR(errno) : fd;
}
SHK_API int64_t shk_mkfifo(const char *path, uint32_t mode) {
  return mkfifo(path, (mode_t)mode) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_fifo_open(const char *path, int32_t as_reader) {
  /* The reader opens O_RDWR so it never sees EOF when the last writer goes away. */
  int fd = SHK_RETRY(open(path, (as_reader ? O_RDWR : O_WRONLY) | O_NONBLOCK | O_CLOEXEC));
  return fd < 0 ? SHK_ERR(errno) : fd;
}
SHK_API int64_t shk_signal_fd(int32_t fd, int32_t kind) {
  uint64_t one = 1; uint8_t b = 1;
  long r = kind == 1 ? SHK_RETRY(write(fd, &one, sizeof one)) : SHK_RETRY(write(fd, &b, 1));
  if (r < 0) return errno == EAGAIN ? 0 : SHK_ERR(errno);
  return 1;
}
SHK_API int64_t shk_drain_fd(int32_t fd, int32_t kind) {
  if (kind == 1) {
    uint64_t v = 0;
    long r = SHK_RETRY(read(fd, &v, sizeof v));
    if (r < 0) return errno == EAGAIN ? 0 : SHK_ERR(errno);
    return (int64_t)v;
  }
  uint8_t buf[256]; int64_t total = 0;
  for (;;) {
    long r = SHK_RETRY(read(fd, buf, sizeof buf));
    if (r < 0) return errno == EAGAIN ? total : SHK_ERR(errno);
    if (r == 0) return total;
    total += r;
    if (r < (long)sizeof buf) return total;
  }
}
SHK_API int64_t shk_poll1(int32_t fd, int32_t events, int32_t timeout_ms) {
  struct pollfd p = { .fd = fd, .events = (short)events, .revents = 0 };
  int r = SHK_RETRY(poll(&p, 1, timeout_ms));
  return r < 0 ? SHK_ERR(errno) : p.revents;
}
