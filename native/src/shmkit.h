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
#endif
