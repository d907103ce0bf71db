/* Segment extras: memfd with seals, hole punching and OFD byte-range locks. */
#include "shmkit.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

SHK_API int64_t shk_memfd_create(const char *name, int32_t flags) {
  int fd = memfd_create(name, MFD_CLOEXEC | ((flags & 1) ? MFD_ALLOW_SEALING : 0));
  return fd < 0 ? SHK_ERR(errno) : fd;
}
SHK_API int64_t shk_add_seals(int32_t fd, int32_t seals) {
  return fcntl(fd, F_ADD_SEALS, seals) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_get_seals(int32_t fd) {
  int r = fcntl(fd, F_GET_SEALS);
  return r < 0 ? SHK_ERR(errno) : r;
}
SHK_API int64_t shk_punch_hole(int32_t fd, int64_t off, int64_t len) {
  return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0 ? SHK_ERR(errno) : 0;
}
/* shk_ofd_lock lives in liveness.c (shared with NodeLock). */
