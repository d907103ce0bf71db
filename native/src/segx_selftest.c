/* C self-test of segx.c and sigbus.c (called once from test/selftest.c). */
#include "shmkit.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int64_t shk_memfd_create(const char *, int32_t); int64_t shk_add_seals(int32_t, int32_t); int64_t shk_get_seals(int32_t);
int64_t shk_punch_hole(int32_t, int64_t, int64_t); int64_t shk_ofd_lock(int32_t, int64_t, int64_t, int32_t);
int64_t shk_guard_add(int64_t, int64_t); int64_t shk_guard_remove(int32_t); int64_t shk_guard_table(void);
int64_t shk_init(int32_t); int64_t shk_ftruncate(int32_t, int64_t); int64_t shk_mmap(int32_t, int64_t, int32_t, int64_t);
int64_t shk_munmap(int64_t, int64_t); int64_t shk_close(int32_t);

#define SX_CHECK(c) do { if (c) (*passed)++; else { (*failed)++; fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); } } while (0)

void shk_selftest_segx(int *passed, int *failed) {
  /* memfd and seals */
  int64_t m = shk_memfd_create("shmkit.testkit.selftest", 1);
  SX_CHECK(m >= 0);
  SX_CHECK(shk_ftruncate((int32_t)m, 8192) == 0);
  SX_CHECK(shk_add_seals((int32_t)m, 1 | 2 | 4) == 0);
  SX_CHECK((shk_get_seals((int32_t)m) & 7) == 7);
  SX_CHECK(shk_ftruncate((int32_t)m, 4096) == -EPERM);
  /* punch hole */
  int64_t a = shk_mmap((int32_t)m, 8192, 3, 0);
  SX_CHECK(a > 0);
  memset((void *)(uintptr_t)a, 0x5a, 8192);
  SX_CHECK(shk_punch_hole((int32_t)m, 4096, 4096) == 0);
  SX_CHECK(((uint8_t *)(uintptr_t)a)[4096] == 0 && ((uint8_t *)(uintptr_t)a)[4095] == 0x5a);
  shk_munmap(a, 8192);
  /* OFD locks: byte 0 write-locked by a child */
  int pfd[2]; SX_CHECK(pipe(pfd) == 0);
  pid_t p = fork();
  if (p == 0) {
    /* reopen the parent's memfd through /proc to get another open file description */
    char path[64]; snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getppid(), (int)m);
    int f = open(path, O_RDWR);
    char c = shk_ofd_lock(f, 0, 1, 2 | 4) == 0 ? 'L' : 'E';
    if (write(pfd[1], &c, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  char c = 0; SX_CHECK(read(pfd[0], &c, 1) == 1 && c == 'L');
  SX_CHECK(shk_ofd_lock((int32_t)m, 0, 1, 2 | 4) == -EWOULDBLOCK);
  SX_CHECK(shk_ofd_lock((int32_t)m, 1, 1, 2 | 4) == 0);
  kill(p, SIGKILL); int st; waitpid(p, &st, 0);
  SX_CHECK(shk_ofd_lock((int32_t)m, 0, 1, 2 | 4) == 0);
  SX_CHECK(shk_ofd_lock((int32_t)m, 0, 2, 8 | 4) == 0);
  close(pfd[0]); close(pfd[1]);
  shk_close((int32_t)m);
  /* SIGBUS guard: registered mapping of a truncated file reads 0 and is poisoned */
  SX_CHECK(shk_init(0) == 0 && shk_init(0) == 0);
  int64_t f = shk_memfd_create("shmkit.testkit.sigbus", 0);
  SX_CHECK(f >= 0 && shk_ftruncate((int32_t)f, 8192) == 0);
  int64_t b = shk_mmap((int32_t)f, 8192, 3, 0);
  memset((void *)(uintptr_t)b, 7, 8192);
  int64_t slot = shk_guard_add(b, 8192);
  SX_CHECK(slot > 0);
  volatile uint32_t *poisoned = (volatile uint32_t *)(uintptr_t)shk_guard_table();
  SX_CHECK(poisoned[slot] == 0);
  SX_CHECK(shk_ftruncate((int32_t)f, 4096) == 0);
  SX_CHECK(((volatile uint8_t *)(uintptr_t)b)[4096 + 10] == 0);
  SX_CHECK(((volatile uint8_t *)(uintptr_t)b)[10] == 7);
  SX_CHECK(poisoned[slot] == 1);
  SX_CHECK(shk_guard_remove((int32_t)slot) == 0 && poisoned[slot] == 0);
  SX_CHECK(shk_guard_remove((int32_t)slot) == -EINVAL);
  /* an unregistered mapping still dies with SIGBUS (checked in a forked child) */
  shk_munmap(b, 8192);
  SX_CHECK(shk_ftruncate((int32_t)f, 8192) == 0);
  b = shk_mmap((int32_t)f, 8192, 3, 0);
  SX_CHECK(shk_ftruncate((int32_t)f, 4096) == 0);
  p = fork();
  if (p == 0) { volatile uint8_t x = ((volatile uint8_t *)(uintptr_t)b)[4096 + 100]; (void)x; _exit(0); }
  waitpid(p, &st, 0);
  SX_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
  shk_munmap(b, 8192);
  shk_close((int32_t)f);
}
