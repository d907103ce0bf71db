#ifndef SHMKIT_H
#define SHMKIT_H
#include <stdint.h>
#define SHK_API __attribute__((visibility("default")))
#define SHK_ABI_VERSION 1
#define SHK_ERR(x) ((int64_t)-(x))
#define SHK_RETRY(expr) ({ long _r; do { _r = (long)(expr); } while (_r == -1 && errno == EINTR); _r; })
/* --- core-segment --- */
int64_t shk_guard_install(void);
void shk_selftest_segx(int *passed, int *failed);
/* --- core-segment --- */
#endif
