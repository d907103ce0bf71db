#include "shmkit.h"
#include <errno.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

SHK_API int32_t shk_abi_version(void) { return SHK_ABI_VERSION; }
SHK_API int64_t shk_init(int32_t flags) { return (flags & 1) ? 0 : shk_guard_install(); }
SHK_API void shk_noop(void) {}
SHK_API int32_t shk_add(int32_t a, int32_t b) { return a + b; }
SHK_API void shk_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
SHK_API int64_t shk_flock(int32_t fd, int32_t op) {
  int o = (op & 8) ? LOCK_UN : (op & 2) ? LOCK_EX : LOCK_SH;
  if (op & 4) o |= LOCK_NB;
  return SHK_RETRY(flock(fd, o)) < 0 ? SHK_ERR(errno) : 0;
}
SHK_API int64_t shk_getcpu(void) { int c = sched_getcpu(); return c < 0 ? SHK_ERR(errno) : c; }
SHK_API int64_t shk_gettid(void) { return (int64_t)syscall(SYS_gettid); }
SHK_API int64_t shk_pidfd_open(int32_t pid) {
  long r = syscall(SYS_pidfd_open, pid, 0);
  return r < 0 ? SHK_ERR(errno) : r;
}
