#ifndef SHMKIT_H
#define SHMKIT_H
#include <stdint.h>
#define SHK_API __attribute__((visibility("default")))
#define SHK_ABI_VERSION 1
#define SHK_ERR(x) ((int64_t)-(x))
#define SHK_RETRY(expr) ({ long _r; do { _r = (long)(expr); } while (_r == -1 && errno == EINTR); _r; })
/* --- core-nodelock --- */
SHK_API int64_t shk_ofd_lock(int32_t fd, int64_t start, int64_t len, int32_t op);
void shk_liveness_selftest(int *passed, int *failed);
/* --- core-nodelock --- */
/* --- core-segment --- */
int64_t shk_guard_install(void);
void shk_selftest_segx(int *passed, int *failed);
/* --- core-segment --- */
#endif
/* --- core-sock --- */
#ifndef SHMKIT_H_CORE_SOCK
#define SHMKIT_H_CORE_SOCK
SHK_API int64_t shk_unix_socket(int32_t type);
SHK_API int64_t shk_socketpair(int32_t type, int32_t *out2);
SHK_API int64_t shk_unix_bind(int32_t fd, const uint8_t *addr, int32_t len);
SHK_API int64_t shk_unix_connect(int32_t fd, const uint8_t *addr, int32_t len);
SHK_API int64_t shk_listen(int32_t fd, int32_t backlog);
SHK_API int64_t shk_accept(int32_t fd);
SHK_API int64_t shk_send_fds(int32_t fd, const uint8_t *data, int64_t len, const int32_t *fds, int32_t nfds);
SHK_API int64_t shk_recv_fds(int32_t fd, uint8_t *buf, int64_t cap, int32_t *fds_out, int32_t max_fds, int32_t *meta6);
SHK_API int64_t shk_peercred(int32_t fd, int32_t *out3);
SHK_API int64_t shk_set_passcred(int32_t fd, int32_t on);
SHK_API int64_t shk_shutdown(int32_t fd, int32_t how);
#endif
/* --- core-sock --- */
/* --- core-utils --- */
SHK_API int64_t shk_read(int32_t fd, uint8_t *buf, int64_t cap);
SHK_API int64_t shk_write(int32_t fd, const uint8_t *buf, int64_t len);
void shk_utils_selftest(int *passed, int *failed);
/* --- core-utils --- */
