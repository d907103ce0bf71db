#include "shmkit.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_flags(int32_t flags) {
  int f = O_CLOEXEC | ((flags & 4) ? O_RDONLY : O_RDWR);
  if (flags & 1) f |= O_CREAT;
  if (flags & 2) f |= O_EXCL;
  return f;
}

SHK_API int64_t shk_shm_open(const char *name, int32_t flags, uint32_t mode) {
  int fd = SHK_RETRY(shm_open(name, open_flags(flags), (mode_t)mode));
  return fd < 0 ? SHK_ERR(errno) : fd;
}
SHK_API int64_t shk_shm_unlink(const char *name) {
  return shm_unlink(name) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_file_open(const char *path, int32_t flags, uint32_t mode) {
  int fd = SHK_RETRY(open(path, open_flags(flags), (mode_t)mode));
  return fd < 0 ? SHK_ERR(errno) : fd;
}
SHK_API int64_t shk_ftruncate(int32_t fd, int64_t size) {
  return SHK_RETRY(ftruncate(fd, (off_t)size)) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_fallocate(int32_t fd, int64_t off, int64_t len) {
  int r = posix_fallocate(fd, (off_t)off, (off_t)len);
  return r ? SHK_ERR(r) : 0;
}
SHK_API int64_t shk_fstat(int32_t fd, int64_t *out6) {
  struct stat st;
  if (fstat(fd, &st) < 0) return SHK_ERR(errno);
  out6[0] = st.st_size; out6[1] = (int64_t)st.st_ino; out6[2] = (int64_t)st.st_dev;
  out6[3] = st.st_mode; out6[4] = st.st_uid; out6[5] = (int64_t)st.st_nlink;
  return 0;
}
SHK_API int64_t shk_fchmod(int32_t fd, uint32_t mode) {
  return fchmod(fd, (mode_t)mode) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_dup(int32_t fd) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return r < 0 ? SHK_ERR(errno) : r;
}
SHK_API int64_t shk_close(int32_t fd) {
  /* close is not retried on EINTR: on Linux the fd is released regardless. */
  return close(fd) < 0 && errno != EINTR ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_mmap(int32_t fd, int64_t len, int32_t prot, int64_t off) {
  int p = ((prot & 1) ? PROT_READ : 0) | ((prot & 2) ? PROT_WRITE : 0);
  int fl = MAP_SHARED | ((prot & 4) ? MAP_POPULATE : 0);
  void *a = mmap(NULL, (size_t)len, p, fl, fd, (off_t)off);
  return a == MAP_FAILED ? SHK_ERR(errno) : (int64_t)(uintptr_t)a;
}
SHK_API int64_t shk_munmap(int64_t addr, int64_t len) {
  return munmap((void *)(uintptr_t)addr, (size_t)len) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_tombstone(int64_t addr, int64_t len) {
  void *a = mmap((void *)(uintptr_t)addr, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  return a == MAP_FAILED ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_msync(int64_t addr, int64_t len, int32_t flags) {
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t a = (uintptr_t)addr, base = a & ~(uintptr_t)(page - 1);
  int f = (flags & 1) ? MS_SYNC : MS_ASYNC;
  return msync((void *)base, (size_t)(len + (int64_t)(a - base)), f) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_fsync(int32_t fd, int32_t data_only) {
  return (data_only ? fdatasync(fd) : fsync(fd)) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_link(const char *from, const char *to) {
  return link(from, to) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_unlink(const char *path) {
  return unlink(path) < 0 ? SHK_ERR(errno) : 0;
}
