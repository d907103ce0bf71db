/* shk_read / shk_write (shm-core.md §3.1): one read(2)/write(2) on an fd, EINTR retried; on the shim's
 * non-blocking fds nothing blocks and "nothing can move" is -EAGAIN. */
#include "shmkit.h"
#include <errno.h>
#include <unistd.h>

SHK_API int64_t shk_read(int32_t fd, uint8_t *buf, int64_t cap) {
  if (cap < 0) return SHK_ERR(EINVAL);
  long r = SHK_RETRY(read(fd, buf, (size_t)cap));
  return r < 0 ? SHK_ERR(errno == EWOULDBLOCK ? EAGAIN : errno) : (int64_t)r;
}

SHK_API int64_t shk_write(int32_t fd, const uint8_t *buf, int64_t len) {
  if (len < 0) return SHK_ERR(EINVAL);
  long r = SHK_RETRY(write(fd, buf, (size_t)len));
  return r < 0 ? SHK_ERR(errno == EWOULDBLOCK ? EAGAIN : errno) : (int64_t)r;
}
