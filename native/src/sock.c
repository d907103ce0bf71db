/* Unix sockets, SCM_RIGHTS fd passing and peer credentials (shm-core.md §3.1, §5.18, §5.19). */
#include "shmkit.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHK_MAX_FDS 16

static int sock_type(int32_t type) {
  switch (type) {
    case 1: return SOCK_STREAM;
    case 2: return SOCK_SEQPACKET;
    case 3: return SOCK_DGRAM;
    default: return -1;
  }
}

SHK_API int64_t shk_unix_socket(int32_t type) {
  int t = sock_type(type);
  if (t < 0) return SHK_ERR(EINVAL);
  int fd = socket(AF_UNIX, t | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? SHK_ERR(errno) : fd;
}

SHK_API int64_t shk_socketpair(int32_t type, int32_t *out2) {
  int t = sock_type(type);
  if (t < 0) return SHK_ERR(EINVAL);
  int sv[2];
  if (socketpair(AF_UNIX, t | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return SHK_ERR(errno);
  out2[0] = sv[0]; out2[1] = sv[1];
  return 0;
}

/* addr: path bytes (no NUL inside), or a leading 0 byte for the abstract namespace. */
static int64_t fill_addr(struct sockaddr_un *sa, socklen_t *salen, const uint8_t *addr, int32_t len) {
  if (len <= 0) return SHK_ERR(EINVAL);
  if (len > 107) return SHK_ERR(ENAMETOOLONG);
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, addr, (size_t)len);
  if (addr[0] == 0) {
    *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len);
  } else {
    if (memchr(addr, 0, (size_t)len)) return SHK_ERR(EINVAL);
    *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len + 1);
  }
  return 0;
}

SHK_API int64_t shk_unix_bind(int32_t fd, const uint8_t *addr, int32_t len) {
  struct sockaddr_un sa; socklen_t salen;
  int64_t r = fill_addr(&sa, &salen, addr, len);
  if (r < 0) return r;
  return bind(fd, (struct sockaddr *)&sa, salen) < 0 ? SHK_ERR(errno) : 0;
}

SHK_API int64_t shk_unix_connect(int32_t fd, const uint8_t *addr, int32_t len) {
  struct sockaddr_un sa; socklen_t salen;
  int64_t r = fill_addr(&sa, &salen, addr, len);
  if (r < 0) return r;
  /* Unix sockets never answer EINPROGRESS: a non-blocking connect either completes or says EAGAIN
     (listener backlog full). */
  return SHK_RETRY(connect(fd, (struct sockaddr *)&sa, salen)) < 0 ? SHK_ERR(errno) : 0;
}

SHK_API int64_t shk_listen(int32_t fd, int32_t backlog) {
  return listen(fd, backlog) < 0 ? SHK_ERR(errno) : 0;
}

SHK_API int64_t shk_accept(int32_t fd) {
  int c = SHK_RETRY(accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
  return c < 0 ? SHK_ERR(errno) : c;
}

SHK_API int64_t shk_send_fds(int32_t fd, const uint8_t *data, int64_t len, const int32_t *fds, int32_t nfds) {
  if (nfds < 0 || nfds > SHK_MAX_FDS || len < 0 || (nfds > 0 && len == 0)) return SHK_ERR(EINVAL);
  union { char buf[CMSG_SPACE(SHK_MAX_FDS * sizeof(int))]; struct cmsghdr align; } ctl;
  struct iovec iov = { .iov_base = (void *)data, .iov_len = (size_t)len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (nfds > 0) {
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  }
  long r = SHK_RETRY(sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT));
  return r < 0 ? SHK_ERR(errno) : r;
}

/* meta6: nfds, flags (1 ctrunc, 2 trunc), has_cred, pid, uid, gid. Received fds beyond max_fds are closed. */
SHK_API int64_t shk_recv_fds(int32_t fd, uint8_t *buf, int64_t cap, int32_t *fds_out, int32_t max_fds, int32_t *meta6) {
  memset(meta6, 0, 6 * sizeof(int32_t));
  if (cap < 0 || max_fds < 0 || max_fds > SHK_MAX_FDS) return SHK_ERR(EINVAL);
  union {
    char buf[CMSG_SPACE(SHK_MAX_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = { .iov_base = buf, .iov_len = (size_t)cap };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
  long r = SHK_RETRY(recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT));
  if (r < 0) return SHK_ERR(errno);
  int32_t n = 0, flags = 0;
  if (msg.msg_flags & MSG_CTRUNC) flags |= 1;
  if (msg.msg_flags & MSG_TRUNC) flags |= 2;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *p = (int *)CMSG_DATA(c);
      for (size_t i = 0; i < cnt; i++) {
        int got; memcpy(&got, p + i, sizeof got);
        if (n < max_fds) fds_out[n++] = got;
        else { close(got); flags |= 1; }
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      struct ucred u; memcpy(&u, CMSG_DATA(c), sizeof u);
      meta6[2] = 1; meta6[3] = u.pid; meta6[4] = (int32_t)u.uid; meta6[5] = (int32_t)u.gid;
    }
  }
  meta6[0] = n; meta6[1] = flags;
  return r;
}

SHK_API int64_t shk_peercred(int32_t fd, int32_t *out3) {
  struct ucred u; socklen_t l = sizeof u;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &u, &l) < 0) return SHK_ERR(errno);
  out3[0] = u.pid; out3[1] = (int32_t)u.uid; out3[2] = (int32_t)u.gid;
  return 0;
}

SHK_API int64_t shk_set_passcred(int32_t fd, int32_t on) {
  int v = on ? 1 : 0;
  return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &v, sizeof v) < 0 ? SHK_ERR(errno) : 0;
}

SHK_API int64_t shk_shutdown(int32_t fd, int32_t how) {
  int h = how == 0 ? SHUT_RD : how == 1 ? SHUT_WR : how == 2 ? SHUT_RDWR : -1;
  if (h < 0) return SHK_ERR(EINVAL);
  return shutdown(fd, h) < 0 ? SHK_ERR(errno) : 0;
}

/* ---- C self-test of this file (called once from test/selftest.c; not exported) ---- */

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

void shk_sock_selftest(int *passed, int *failed);
void shk_sock_selftest(int *passed, int *failed) {
#define SCHECK(c) do { if (c) (*passed)++; else { (*failed)++; fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); } } while (0)
  int before = count_fds();
  int32_t sv[2];
  SCHECK(shk_socketpair(1, sv) == 0);
  int p1[2], p2[2];
  SCHECK(pipe(p1) == 0 && pipe(p2) == 0);
  int32_t two[2] = { p1[1], p2[1] };
  uint8_t byte = 0x5a;
  SCHECK(shk_send_fds(sv[0], &byte, 1, two, 2) == 1);
  uint8_t in[4] = { 0 }; int32_t got[SHK_MAX_FDS]; int32_t meta[6];
  SCHECK(shk_recv_fds(sv[1], in, sizeof in, got, SHK_MAX_FDS, meta) == 1);
  SCHECK(in[0] == 0x5a && meta[0] == 2 && meta[1] == 0 && meta[2] == 0);
  /* the received fds are the same pipes: write through them, read the originals */
  SCHECK(write(got[0], "a", 1) == 1 && write(got[1], "b", 1) == 1);
  char c1 = 0, c2 = 0;
  SCHECK(read(p1[0], &c1, 1) == 1 && read(p2[0], &c2, 1) == 1 && c1 == 'a' && c2 == 'b');
  SCHECK((fcntl(got[0], F_GETFD) & FD_CLOEXEC) != 0);
  close(got[0]); close(got[1]);
  /* 17 fds, or fds without data, are refused before any syscall */
  int32_t many[17]; for (int i = 0; i < 17; i++) many[i] = p1[1];
  SCHECK(shk_send_fds(sv[0], &byte, 1, many, 17) == -EINVAL);
  SCHECK(shk_send_fds(sv[0], &byte, 0, two, 2) == -EINVAL);
  SCHECK(shk_send_fds(sv[0], &byte, 1, (int32_t[]){ 9999 }, 1) == -EBADF);
  /* max_fds 1 with 2 sent: one fd delivered, the other closed, ctrunc set */
  int mid = count_fds();
  SCHECK(shk_send_fds(sv[0], &byte, 1, two, 2) == 1);
  SCHECK(shk_recv_fds(sv[1], in, sizeof in, got, 1, meta) == 1);
  SCHECK(meta[0] == 1 && (meta[1] & 1) == 1);
  close(got[0]);
  SCHECK(count_fds() == mid);
  /* nothing to read: -EAGAIN; peer credentials of a pair name this process */
  SCHECK(shk_recv_fds(sv[1], in, sizeof in, got, 1, meta) == -EAGAIN);
  int32_t cred[3];
  SCHECK(shk_peercred(sv[1], cred) == 0 && cred[0] == (int32_t)getpid() && cred[1] == (int32_t)getuid());
  /* SO_PASSCRED: a forked child's message carries the child's pid */
  SCHECK(shk_set_passcred(sv[1], 1) == 0);
  pid_t child = fork();
  if (child == 0) { shk_send_fds(sv[0], &byte, 1, NULL, 0); _exit(0); }
  int st; waitpid(child, &st, 0);
  SCHECK(shk_recv_fds(sv[1], in, sizeof in, got, SHK_MAX_FDS, meta) == 1);
  SCHECK(meta[2] == 1 && meta[3] == (int32_t)child && meta[4] == (int32_t)getuid());
  /* seqpacket: a message larger than the buffer is truncated and says so */
  int32_t sq[2];
  SCHECK(shk_socketpair(2, sq) == 0);
  uint8_t big[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  SCHECK(shk_send_fds(sq[0], big, 8, NULL, 0) == 8);
  SCHECK(shk_recv_fds(sq[1], in, 4, got, 0, meta) == 4 && (meta[1] & 2) == 2);
  /* EOF on a stream after the peer closed */
  close(sv[0]);
  SCHECK(shk_recv_fds(sv[1], in, sizeof in, got, 1, meta) == 0);
  close(sv[1]); close(sq[0]); close(sq[1]);
  /* abstract listener, connect, accept, peer credentials; ENAMETOOLONG above 107 bytes */
  char abs[64]; int alen = snprintf(abs + 1, sizeof abs - 1, "shmkit.shm-core.selftest-%d", (int)getpid()) + 1; abs[0] = 0;
  int64_t l = shk_unix_socket(1), cl = shk_unix_socket(1);
  SCHECK(l >= 0 && cl >= 0);
  SCHECK(shk_unix_bind((int32_t)l, (uint8_t *)abs, alen) == 0 && shk_listen((int32_t)l, 4) == 0);
  SCHECK(shk_accept((int32_t)l) == -EAGAIN);
  SCHECK(shk_unix_connect((int32_t)cl, (uint8_t *)abs, alen) == 0);
  int64_t ac = shk_accept((int32_t)l);
  SCHECK(ac >= 0 && shk_peercred((int32_t)ac, cred) == 0 && cred[0] == (int32_t)getpid());
  uint8_t longp[108]; memset(longp, 'x', sizeof longp);
  SCHECK(shk_unix_bind((int32_t)cl, longp, 108) == -ENAMETOOLONG);
  SCHECK(shk_shutdown((int32_t)cl, 5) == -EINVAL && shk_shutdown((int32_t)cl, 1) == 0);
  SCHECK(shk_recv_fds((int32_t)ac, in, sizeof in, got, 1, meta) == 0);
  close((int)ac); close((int)cl); close((int)l);
  int64_t nobody = shk_unix_socket(1);
  SCHECK(shk_unix_connect((int32_t)nobody, (uint8_t *)abs, alen) == -ECONNREFUSED);
  close((int)nobody);
  SCHECK(shk_unix_socket(9) == -EINVAL);
  close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
  SCHECK(count_fds() == before);
#undef SCHECK
}
