/* C-level tests of the shim, without Node. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>
int32_t shk_abi_version(void); int32_t shk_add(int32_t, int32_t); int32_t shk_mutex_size(void);
int64_t shk_shm_open(const char *, int32_t, uint32_t); int64_t shk_shm_unlink(const char *);
int64_t shk_ftruncate(int32_t, int64_t); int64_t shk_fstat(int32_t, int64_t *);
int64_t shk_mmap(int32_t, int64_t, int32_t, int64_t); int64_t shk_munmap(int64_t, int64_t);
int64_t shk_close(int32_t); int64_t shk_mutex_init(int64_t); int64_t shk_mutex_lock(int64_t);
int64_t shk_mutex_trylock(int64_t); int64_t shk_mutex_unlock(int64_t); int64_t shk_futex_wait(int64_t, uint32_t, int64_t);
int64_t shk_futex_wake(int64_t, int32_t);
void shk_selftest_segx(int *, int *);
static int passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); } } while (0)
int main(void) {
  char name[64]; snprintf(name, sizeof name, "/shmkit.core.selftest-%d", (int)getpid());
  CHECK(shk_abi_version() == 1);
  CHECK(shk_add(2, 3) == 5);
  CHECK(shk_mutex_size() > 0 && shk_mutex_size() <= 64);
  int64_t fd = shk_shm_open(name, 1 | 2, 0600);
  CHECK(fd >= 0);
  CHECK(shk_shm_open(name, 1 | 2, 0600) == -EEXIST);
  CHECK(shk_ftruncate((int32_t)fd, 4096) == 0);
  int64_t st[6]; CHECK(shk_fstat((int32_t)fd, st) == 0 && st[0] == 4096);
  int64_t a = shk_mmap((int32_t)fd, 4096, 3, 0);
  CHECK(a > 0);
  CHECK(shk_mutex_init(a) == 0);
  pid_t p = fork();
  if (p == 0) { shk_mutex_lock(a); raise(SIGKILL); }
  int status; waitpid(p, &status, 0);
  CHECK(shk_mutex_trylock(a) == 1);  /* owner died: recovered */
  CHECK(shk_mutex_unlock(a) == 0);
  CHECK(shk_mutex_lock(a) == 0);
  CHECK(shk_mutex_unlock(a) == 0);
  uint32_t *w = (uint32_t *)(uintptr_t)(a + 64); *w = 7;
  CHECK(shk_futex_wait(a + 64, 8, 1000) == -EAGAIN);
  CHECK(shk_futex_wait(a + 64, 7, 1000000) == -ETIMEDOUT);
  CHECK(shk_futex_wake(a + 64, 1) == 0);
  CHECK(shk_munmap(a, 4096) == 0);
  CHECK(shk_close((int32_t)fd) == 0);
  CHECK(shk_shm_unlink(name) == 0);
  CHECK(shk_shm_unlink(name) == -ENOENT);
  { extern void shk_sock_selftest(int *, int *); shk_sock_selftest(&passed, &failed); }
  { void shk_liveness_selftest(int *, int *); shk_liveness_selftest(&passed, &failed); }
  shk_selftest_segx(&passed, &failed);
  { void shk_utils_selftest(int *, int *); shk_utils_selftest(&passed, &failed); }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
