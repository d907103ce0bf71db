/* Liveness and role locks: OFD byte-range locks (shm-core.md §5.21), plus the shim's self-test of
 * the liveness primitives (flock, OFD locks, pidfd). */
#include "shmkit.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

SHK_API int64_t shk_ofd_lock(int32_t fd, int64_t start, int64_t len, int32_t op) {
  if (start < 0 || len < 0) return SHK_ERR(EINVAL);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = (op & 8) ? F_UNLCK : (op & 2) ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  fl.l_pid = 0; /* required for OFD locks */
  int cmd = (op & 4) || (op & 8) ? F_OFD_SETLK : F_OFD_SETLKW;
  if (SHK_RETRY(fcntl(fd, cmd, &fl)) < 0) {
    if (errno == EAGAIN || errno == EACCES) return SHK_ERR(EWOULDBLOCK);
    return SHK_ERR(errno);
  }
  return 0;
}

/* ---- self-test (called once from test/selftest.c; not exported) ---- */
int64_t shk_flock(int32_t fd, int32_t op);
int64_t shk_pidfd_open(int32_t pid);
int64_t shk_shm_open(const char *name, int32_t flags, uint32_t mode);
int64_t shk_shm_unlink(const char *name);
int64_t shk_close(int32_t fd);

#define LV_CHECK(c) do { if (c) (*passed)++; else { (*failed)++; fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); } } while (0)

/* A child that takes `what` (1 flock EX, 2 OFD write lock on byte 0) on its own open file description,
 * tells the parent through a pipe, then waits to be killed. */
static pid_t lv_holder(const char *name, int what) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t c = fork();
  if (c == 0) {
    close(p[0]);
    int fd = (int)shk_shm_open(name, 0, 0);
    int64_t r = what == 1 ? shk_flock(fd, 2 | 4) : shk_ofd_lock(fd, 0, 1, 2 | 4);
    char b = r == 0 ? 'y' : 'n';
    if (write(p[1], &b, 1) != 1) _exit(2);
    for (;;) pause();
  }
  close(p[1]);
  char b = 0;
  ssize_t n = read(p[0], &b, 1);
  close(p[0]);
  if (n != 1 || b != 'y') { kill(c, SIGKILL); waitpid(c, NULL, 0); return -1; }
  return c;
}

void shk_liveness_selftest(int *passed, int *failed) {
  char name[64];
  snprintf(name, sizeof name, "/shmkit.shm-core.lvtest-%d.lock", (int)getpid());
  int fd = (int)shk_shm_open(name, 1 | 2, 0600);
  LV_CHECK(fd >= 0);

  /* flock: held by a child → EWOULDBLOCK for us (even SH); free once the child is killed. A second fd
   * of ours opened and closed does not matter: flock belongs to the open file description. */
  pid_t c = lv_holder(name, 1);
  LV_CHECK(c > 0);
  LV_CHECK(shk_flock(fd, 1 | 4) == -EWOULDBLOCK);
  LV_CHECK(shk_flock(fd, 2 | 4) == -EWOULDBLOCK);
  /* pidfd of the holder: not readable while it lives, readable after SIGKILL (before reaping). */
  int pfd = (int)shk_pidfd_open(c);
  LV_CHECK(pfd >= 0 || pfd == -ENOSYS);
  if (pfd >= 0) {
    struct pollfd pl = { .fd = pfd, .events = POLLIN };
    LV_CHECK(poll(&pl, 1, 0) == 0);
    kill(c, SIGKILL);
    LV_CHECK(poll(&pl, 1, 5000) == 1 && (pl.revents & POLLIN));
    /* flock released at exit even while the child is an unreaped zombie. */
    LV_CHECK(shk_flock(fd, 2 | 4) == 0);
    LV_CHECK(shk_flock(fd, 8) == 0);
    close(pfd);
  } else {
    kill(c, SIGKILL);
  }
  waitpid(c, NULL, 0);
  LV_CHECK(shk_flock(fd, 2 | 4) == 0);
  int fd2 = (int)shk_shm_open(name, 0, 0);
  LV_CHECK(fd2 >= 0 && shk_flock(fd2, 1 | 4) == -EWOULDBLOCK);
  shk_close(fd2);                               /* closing another fd keeps our flock */
  fd2 = (int)shk_shm_open(name, 0, 0);
  LV_CHECK(fd2 >= 0 && shk_flock(fd2, 1 | 4) == -EWOULDBLOCK);
  shk_close(fd2);
  LV_CHECK(shk_flock(fd, 8) == 0);

  /* OFD locks: byte 0 write-locked by a child → parent EWOULDBLOCK on byte 0, free on byte 1,
   * free on byte 0 after the child exits. */
  c = lv_holder(name, 2);
  LV_CHECK(c > 0);
  LV_CHECK(shk_ofd_lock(fd, 0, 1, 2 | 4) == -EWOULDBLOCK);
  LV_CHECK(shk_ofd_lock(fd, 0, 1, 1 | 4) == -EWOULDBLOCK);
  LV_CHECK(shk_ofd_lock(fd, 1, 1, 2 | 4) == 0);
  kill(c, SIGKILL);
  waitpid(c, NULL, 0);
  LV_CHECK(shk_ofd_lock(fd, 0, 1, 2 | 4) == 0);
  LV_CHECK(shk_ofd_lock(fd, 0, 2, 8) == 0);
  LV_CHECK(shk_ofd_lock(fd, -1, 1, 2 | 4) == -EINVAL);

  shk_close(fd);
  LV_CHECK(shk_shm_unlink(name) == 0);
}
