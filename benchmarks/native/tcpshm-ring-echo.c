/* tcpshm-ring-echo: a native C ping-pong over the TCPSHM ring layout (tcpshm-queue.md §4.10), written for the
 * shmkit benchmarks as the native floor of the echo-shm method on the machine at hand. It is NOT the reference's
 * code: two SPSC rings of Q + 256 bytes (64-byte blocks, size-0 wrap marker, free-running u32 write_idx at Q+0,
 * read_idx at Q+128), a server that echoes every record (type and payload) and a client that sends one record
 * (msg_type 1..4 at random), waits for the echo and checks it. Indices use C11-style acquire/release atomics.
 *
 *   server <c2s shm name> <s2c shm name> <Q>                 creates/zeroes both rings, prints "ready", echoes
 *                                                             until killed (or a record of type 0xFFFF arrives)
 *   client <c2s shm name> <s2c shm name> <Q> <size> <n> <warmup> <out file>
 *                                                             n + warmup round trips; writes n f64 RTTs (ns) to
 *                                                             <out file>, prints "meanNs <wall / n>"
 * Every spin loop is bounded by a deadline (30 s without progress). Build: cc -O2 -o tcpshm-ring-echo this.c */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ring { uint8_t *base; uint32_t q, n; uint32_t *widx, *ridx; uint32_t w, r, rc; };

static uint64_t now_ns(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static void die(const char *what) { perror(what); exit(2); }

static void ring_open(struct ring *g, const char *name, uint32_t q, int zero) {
  int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
  if (fd < 0) die("shm_open");
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat");
  if (st.st_size == 0 && ftruncate(fd, (off_t)q + 256) < 0) die("ftruncate");
  else if (st.st_size != 0 && st.st_size != (off_t)q + 256) { fprintf(stderr, "%s: wrong size\n", name); exit(2); }
  g->base = mmap(NULL, (size_t)q + 256, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (g->base == MAP_FAILED) die("mmap");
  close(fd);
  g->q = q; g->n = q / 64;
  g->widx = (uint32_t *)(g->base + q); g->ridx = (uint32_t *)(g->base + q + 128);
  if (zero) memset(g->base, 0, (size_t)q + 256);
  g->w = __atomic_load_n(g->widx, __ATOMIC_ACQUIRE); g->r = __atomic_load_n(g->ridx, __ATOMIC_ACQUIRE); g->rc = g->r;
}

/* Producer: reserve a record of `len` payload bytes; returns the payload or NULL when full. */
static uint8_t *ring_alloc(struct ring *g, uint32_t len, uint16_t type, uint32_t *blocks_out) {
  uint32_t total = len + 8, blocks = (total + 63) / 64, p = g->w & (g->n - 1), tail = g->n - p;
  int wrap = blocks > tail;
  uint32_t need = g->w + blocks + (wrap ? tail : 0) - g->n;
  if ((int32_t)(g->rc - need) < 0) {
    g->rc = __atomic_load_n(g->ridx, __ATOMIC_ACQUIRE);
    if ((int32_t)(g->rc - need) < 0) return NULL;
  }
  if (wrap) {
    memset(g->base + (size_t)p * 64, 0, 8);
    g->w += tail;
    __atomic_store_n(g->widx, g->w, __ATOMIC_RELEASE);
    p = 0;
  }
  uint8_t *h = g->base + (size_t)p * 64;
  uint16_t sz = (uint16_t)total; uint32_t zero = 0;
  memcpy(h, &sz, 2); memcpy(h + 2, &type, 2); memcpy(h + 4, &zero, 4);
  *blocks_out = blocks;
  return h + 8;
}
static void ring_push(struct ring *g, uint32_t blocks) { g->w += blocks; __atomic_store_n(g->widx, g->w, __ATOMIC_RELEASE); }

/* Consumer: the front record (payload, type, length) or NULL when empty; every value is checked. */
static uint8_t *ring_front(struct ring *g, uint16_t *type, uint32_t *len, uint32_t *blocks) {
  uint32_t avail = __atomic_load_n(g->widx, __ATOMIC_ACQUIRE) - g->r;
  if (avail == 0) return NULL;
  if (avail > g->n) { fprintf(stderr, "corrupt ring: avail %u\n", avail); exit(3); }
  uint32_t p = g->r & (g->n - 1);
  uint16_t size; memcpy(&size, g->base + (size_t)p * 64, 2);
  if (size == 0) {
    uint32_t tail = g->n - p;
    if (p == 0 || avail < tail) { fprintf(stderr, "corrupt wrap marker\n"); exit(3); }
    g->r += tail; __atomic_store_n(g->ridx, g->r, __ATOMIC_RELEASE);
    if (avail == tail) return NULL;
    p = 0; memcpy(&size, g->base, 2);
  }
  if (size < 8 || (size + 63u) / 64 > g->n - p) { fprintf(stderr, "corrupt record size %u\n", size); exit(3); }
  memcpy(type, g->base + (size_t)p * 64 + 2, 2);
  *len = size - 8u; *blocks = (size + 63u) / 64;
  return g->base + (size_t)p * 64 + 8;
}
static void ring_pop(struct ring *g, uint32_t blocks) { g->r += blocks; __atomic_store_n(g->ridx, g->r, __ATOMIC_RELEASE); }

#define STALL_NS 30000000000ull

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: see the header of tcpshm-ring-echo.c\n"); return 2; }
  int server = strcmp(argv[1], "server") == 0;
  uint32_t q = (uint32_t)strtoul(argv[4], NULL, 10);
  if (q < 128 || q % 64 || ((q / 64) & (q / 64 - 1))) { fprintf(stderr, "bad Q\n"); return 2; }
  struct ring c2s, s2c;
  ring_open(&c2s, argv[2], q, server); ring_open(&s2c, argv[3], q, server);
  if (server) {
    struct ring *in = &c2s, *out = &s2c;
    printf("ready\n"); fflush(stdout);
    uint64_t last = now_ns();
    for (uint64_t k = 1;; k++) {
      uint16_t type; uint32_t len, blocks, ob;
      uint8_t *m = ring_front(in, &type, &len, &blocks);
      if (!m) {
        if ((k & 0xfffff) == 0 && now_ns() - last > 10 * STALL_NS) { fprintf(stderr, "server: idle too long\n"); return 4; }
        if ((k & 0xfffff) == 0 && getppid() == 1) return 0; /* the role process is gone */
        continue;
      }
      if (type == 0xFFFF) { ring_pop(in, blocks); return 0; }
      uint8_t *o;
      while (!(o = ring_alloc(out, len, type, &ob))) {}
      memcpy(o, m, len);
      ring_push(out, ob); ring_pop(in, blocks); /* push first, then pop (spec §3.10) */
      last = now_ns();
    }
  }
  if (argc < 9) { fprintf(stderr, "client needs <size> <n> <warmup> <out file>\n"); return 2; }
  uint32_t size = (uint32_t)strtoul(argv[5], NULL, 10);
  uint64_t n = strtoull(argv[6], NULL, 10), warm = strtoull(argv[7], NULL, 10), total = n + warm;
  double *lat = calloc(n ? n : 1, sizeof(double));
  if (!lat) die("calloc");
  struct ring *out = &c2s, *in = &s2c;
  uint64_t seed = (uint64_t)now_ns() | 1, t0 = 0;
  for (uint64_t i = 0; i < total; i++) {
    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
    uint16_t type = (uint16_t)(1 + (seed & 3)), rt; uint8_t b = (uint8_t)i;
    uint32_t ob, len, blocks;
    if (i == warm) t0 = now_ns();
    uint64_t t = now_ns();
    uint8_t *o;
    while (!(o = ring_alloc(out, size, type, &ob))) {}
    memset(o, b, size);
    ring_push(out, ob);
    uint8_t *m;
    for (uint64_t k = 1; !(m = ring_front(in, &rt, &len, &blocks)); k++)
      if ((k & 0xfffff) == 0 && now_ns() - t > STALL_NS) { fprintf(stderr, "client: no echo for %llu\n", (unsigned long long)i); return 4; }
    if (rt != type || len != size || (size && (m[0] != b || m[size - 1] != b))) { fprintf(stderr, "client: bad echo at %llu\n", (unsigned long long)i); return 5; }
    ring_pop(in, blocks);
    uint64_t dt = now_ns() - t;
    if (i >= warm) lat[i - warm] = (double)dt;
  }
  uint64_t wall = now_ns() - t0;
  FILE *f = fopen(argv[8], "wb");
  if (!f || fwrite(lat, sizeof(double), n, f) != n || fclose(f) != 0) die("write latencies");
  printf("meanNs %.1f\n", n ? (double)wall / (double)n : 0.0);
  return 0;
}
