/* SIGBUS guard: a fault inside a registered mapping (its file was truncated underneath) gets a private
 * zero page mapped over the faulting page and marks the slot poisoned; anything else goes to the
 * previous handler. The table is the shim's only global state. */
#include "shmkit.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_SLOTS 1024
static uintptr_t guard_base[GUARD_SLOTS];
static size_t guard_len[GUARD_SLOTS];
static uint8_t guard_used[GUARD_SLOTS];
static uint32_t guard_poisoned[GUARD_SLOTS];
static struct sigaction guard_prev;
static int guard_installed;
static uintptr_t guard_page = 4096;

static void guard_handler(int sig, siginfo_t *info, void *ctx) {
  uintptr_t a = (uintptr_t)info->si_addr;
  for (int i = 1; i < GUARD_SLOTS; i++) {
    uintptr_t base = __atomic_load_n(&guard_base[i], __ATOMIC_ACQUIRE);
    if (base == 0 || a < base) continue;
    if (a - base >= __atomic_load_n(&guard_len[i], __ATOMIC_ACQUIRE)) continue;
    void *page = (void *)(a & ~(guard_page - 1));
    if (mmap(page, guard_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) break;
    __atomic_store_n(&guard_poisoned[i], 1, __ATOMIC_RELEASE);
    return; /* the faulting instruction is retried against the zero page */
  }
  if (guard_prev.sa_flags & SA_SIGINFO) {
    if (guard_prev.sa_sigaction) { guard_prev.sa_sigaction(sig, info, ctx); return; }
  } else if (guard_prev.sa_handler != SIG_DFL && guard_prev.sa_handler != SIG_IGN) {
    guard_prev.sa_handler(sig);
    return;
  }
  /* Default action: restore it; returning re-executes the access, which now kills the process. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, NULL);
}

int64_t shk_guard_install(void) {
  if (__atomic_load_n(&guard_installed, __ATOMIC_ACQUIRE)) return 0;
  long p = sysconf(_SC_PAGESIZE);
  if (p > 0) guard_page = (uintptr_t)p;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = guard_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &guard_prev) < 0) return SHK_ERR(errno);
  __atomic_store_n(&guard_installed, 1, __ATOMIC_RELEASE);
  return 0;
}
SHK_API int64_t shk_guard_add(int64_t addr, int64_t len) {
  if (addr <= 0 || len <= 0) return SHK_ERR(EINVAL);
  for (int i = 1; i < GUARD_SLOTS; i++) {
    uint8_t expected = 0;
    if (!__atomic_compare_exchange_n(&guard_used[i], &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
    __atomic_store_n(&guard_poisoned[i], 0, __ATOMIC_RELEASE);
    __atomic_store_n(&guard_len[i], (size_t)len, __ATOMIC_RELEASE);
    __atomic_store_n(&guard_base[i], (uintptr_t)addr, __ATOMIC_RELEASE);
    return i;
  }
  return SHK_ERR(ENOSPC);
}
SHK_API int64_t shk_guard_remove(int32_t slot) {
  if (slot <= 0 || slot >= GUARD_SLOTS || !__atomic_load_n(&guard_used[slot], __ATOMIC_ACQUIRE)) return SHK_ERR(EINVAL);
  __atomic_store_n(&guard_base[slot], 0, __ATOMIC_RELEASE);
  __atomic_store_n(&guard_len[slot], 0, __ATOMIC_RELEASE);
  __atomic_store_n(&guard_poisoned[slot], 0, __ATOMIC_RELEASE);
  __atomic_store_n(&guard_used[slot], 0, __ATOMIC_RELEASE);
  return 0;
}
SHK_API int64_t shk_guard_table(void) { return (int64_t)(uintptr_t)guard_poisoned; }
