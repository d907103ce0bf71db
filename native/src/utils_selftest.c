/* Self-test checks of shm-core.md §8 native rows 2 and 6 not covered elsewhere: robust mutex error paths
 * (relock -EDEADLK, unlock by a non-owner -EPERM, timedlock on a held mutex -> 3 after at least the
 * timeout), a futex wake across fork, a FIFO writer without a reader (-ENXIO), shk_fence, shk_read/write. */
#include "shmkit.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

SHK_API void shk_fence(void);
SHK_API int64_t shk_mutex_init(int64_t addr);
SHK_API int64_t shk_mutex_lock(int64_t addr);
SHK_API int64_t shk_mutex_timedlock(int64_t addr, int64_t timeout_ns);
SHK_API int64_t shk_mutex_unlock(int64_t addr);
SHK_API int64_t shk_futex_wait(int64_t addr, uint32_t expected, int64_t timeout_ns);
SHK_API int64_t shk_futex_wake(int64_t addr, int32_t count);
SHK_API int64_t shk_mkfifo(const char *path, uint32_t mode);
SHK_API int64_t shk_fifo_open(const char *path, int32_t as_reader);
SHK_API int64_t shk_close(int32_t fd);

#define UT_CHECK(c) do { if (c) (*passed)++; else { (*failed)++; fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); } } while (0)

static int64_t ut_now_ns(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *ut_unlock_other(void *arg) { return (void *)(intptr_t)shk_mutex_unlock((int64_t)(intptr_t)arg); }

void shk_utils_selftest(int *passed, int *failed) {
  shk_fence();
  /* Shared anonymous memory: one mutex at 0, one futex word at 64, a child-ready flag at 128. */
  void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  UT_CHECK(mem != MAP_FAILED);
  if (mem == MAP_FAILED) return;
  int64_t a = (int64_t)(uintptr_t)mem;
  UT_CHECK(shk_mutex_init(a) == 0);
  UT_CHECK(shk_mutex_lock(a) == 0);
  UT_CHECK(shk_mutex_lock(a) == -EDEADLK);            /* errorcheck: relock on the same thread */
  pthread_t th; void *ret = NULL;
  UT_CHECK(pthread_create(&th, NULL, ut_unlock_other, mem) == 0 && pthread_join(th, &ret) == 0);
  UT_CHECK((int64_t)(intptr_t)ret == -EPERM);         /* unlock by another thread */
  pid_t p = fork();
  if (p == 0) _exit(shk_mutex_timedlock(a, 50 * 1000000LL) == 3 ? 0 : 1);
  int64_t t0 = ut_now_ns();
  int st = 0; waitpid(p, &st, 0);
  UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);  /* the child timed out on our held mutex */
  UT_CHECK(ut_now_ns() - t0 >= 50 * 1000000LL);
  UT_CHECK(shk_mutex_timedlock(a, 20 * 1000000LL) == -EDEADLK); /* the owner's own timedlock */
  UT_CHECK(shk_mutex_unlock(a) == 0);
  UT_CHECK(shk_mutex_unlock(a) == -EPERM);            /* no longer held */

  /* Futex wake across fork: the child blocks on the word, the parent stores and wakes it. */
  volatile uint32_t *word = (volatile uint32_t *)((char *)mem + 64);
  volatile uint32_t *ready = (volatile uint32_t *)((char *)mem + 128);
  *word = 0; *ready = 0;
  p = fork();
  if (p == 0) {
    __atomic_store_n(ready, 1, __ATOMIC_SEQ_CST);
    int64_t r;
    do r = shk_futex_wait(a + 64, 0, 10LL * 1000000000); while (r == 0 && __atomic_load_n(word, __ATOMIC_SEQ_CST) == 0);
    _exit(__atomic_load_n(word, __ATOMIC_SEQ_CST) == 1 ? 0 : 1);
  }
  for (int i = 0; i < 10000 && !__atomic_load_n(ready, __ATOMIC_SEQ_CST); i++) usleep(1000);
  __atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
  UT_CHECK(shk_futex_wake(a + 64, 1) >= 0);
  st = 0; waitpid(p, &st, 0);
  UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  munmap(mem, 4096);

  /* FIFO: a writer without a reader is -ENXIO; with a reader it opens. */
  char path[96]; snprintf(path, sizeof path, "/dev/shm/shmkit.shm-core.utils-selftest-%d.wake", (int)getpid());
  UT_CHECK(shk_mkfifo(path, 0600) == 0);
  UT_CHECK(shk_fifo_open(path, 0) == -ENXIO);
  int64_t rd = shk_fifo_open(path, 1);
  UT_CHECK(rd >= 0);
  int64_t wr = shk_fifo_open(path, 0);
  UT_CHECK(wr >= 0);
  if (wr >= 0) shk_close((int32_t)wr);
  if (rd >= 0) shk_close((int32_t)rd);
  UT_CHECK(unlink(path) == 0);

  /* shk_read / shk_write on a non-blocking pipe. */
  int pp[2]; UT_CHECK(pipe2(pp, O_NONBLOCK | O_CLOEXEC) == 0);
  uint8_t out[3] = { 1, 2, 3 }, in[8] = { 0 };
  UT_CHECK(shk_read(pp[0], in, sizeof in) == -EAGAIN);
  UT_CHECK(shk_write(pp[1], out, 3) == 3);
  UT_CHECK(shk_read(pp[0], in, sizeof in) == 3 && in[0] == 1 && in[2] == 3);
  UT_CHECK(shk_read(pp[0], in, -1) == -EINVAL);
  close(pp[1]);
  UT_CHECK(shk_read(pp[0], in, sizeof in) == 0); /* EOF */
  close(pp[0]);
  UT_CHECK(shk_write(pp[1], out, 1) == -EBADF);
}
