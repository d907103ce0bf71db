#include "shmkit.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

SHK_API int32_t shk_mutex_size(void) { return (int32_t)sizeof(pthread_mutex_t); }
SHK_API int32_t shk_mutex_align(void) { return (int32_t)_Alignof(pthread_mutex_t); }

SHK_API int64_t shk_futex_wait(int64_t addr, uint32_t expected, int64_t timeout_ns) {
  struct timespec ts, *tp = NULL;
  if (timeout_ns >= 0) { ts.tv_sec = timeout_ns / 1000000000; ts.tv_nsec = timeout_ns % 1000000000; tp = &ts; }
  long r = syscall(SYS_futex, (uint32_t *)(uintptr_t)addr, FUTEX_WAIT, expected, tp, NULL, 0);
  if (r < 0) return errno == EINTR ? 0 : SHK_ERR(errno);
  return 0;
}
SHK_API int64_t shk_futex_wake(int64_t addr, int32_t count) {
  long r = syscall(SYS_futex, (uint32_t *)(uintptr_t)addr, FUTEX_WAKE, count, NULL, NULL, 0);
  return r < 0 ? SHK_ERR(errno) : r;
}

SHK_API int64_t shk_mutex_init(int64_t addr) {
  pthread_mutexattr_t a;
  int r = pthread_mutexattr_init(&a);
  if (!r) r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (!r) r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (!r) r = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  if (!r) r = pthread_mutex_init((pthread_mutex_t *)(uintptr_t)addr, &a);
  pthread_mutexattr_destroy(&a);
  return r ? SHK_ERR(r) : 0;
}
static int64_t lock_result(pthread_mutex_t *m, int r) {
  if (r == 0) return 0;
  if (r == EOWNERDEAD) { int c = pthread_mutex_consistent(m); return c ? SHK_ERR(c) : 1; }
  return SHK_ERR(r);
}
SHK_API int64_t shk_mutex_lock(int64_t addr) {
  pthread_mutex_t *m = (pthread_mutex_t *)(uintptr_t)addr;
  return lock_result(m, pthread_mutex_lock(m));
}
SHK_API int64_t shk_mutex_trylock(int64_t addr) {
  pthread_mutex_t *m = (pthread_mutex_t *)(uintptr_t)addr;
  int r = pthread_mutex_trylock(m);
  return r == EBUSY ? 2 : lock_result(m, r);
}
SHK_API int64_t shk_mutex_timedlock(int64_t addr, int64_t timeout_ns) {
  pthread_mutex_t *m = (pthread_mutex_t *)(uintptr_t)addr;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += timeout_ns / 1000000000; ts.tv_nsec += timeout_ns % 1000000000;
  if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
  int r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
  return r == ETIMEDOUT ? 3 : lock_result(m, r);
}
SHK_API int64_t shk_mutex_unlock(int64_t addr) {
  int r = pthread_mutex_unlock((pthread_mutex_t *)(uintptr_t)addr);
  return r ? SHK_ERR(r) : 0;
}
SHK_API int64_t shk_mutex_destroy(int64_t addr) {
  int r = pthread_mutex_destroy((pthread_mutex_t *)(uintptr_t)addr);
  return r ? SHK_ERR(r) : 0;
}
SHK_API int64_t shk_mutex_owner(int64_t addr) {
  /* glibc keeps the owner tid in the lock word (first int) of a robust mutex. */
  uint32_t w = __atomic_load_n((uint32_t *)(uintptr_t)addr, __ATOMIC_ACQUIRE);
  return (int64_t)(w & 0x3fffffffu);
}
