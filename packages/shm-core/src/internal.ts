// `@shmkit/shm-core/internal`: for testkit, benchmarks and sibling packages; not public API.
import { native } from './native.js';
import type { Segment } from './segment.js';

export { TEST_POINTS_ENABLED, testPoint, setTestPointHandler } from './testpoint.js';
/** Test switch (shm-core.md §8 test 17): behave as if the N-API detach were unavailable, so close() tombstones. */
export { forceTombstoneForTests } from './segment.js';

/** Address of the first byte of a segment's mapping (for shim calls in sibling packages). */
export function segmentAddress(seg: Segment): number { return seg.address(0); }
/** CPU the calling thread runs on (sched_getcpu). */
export function getCpu(): number { return native().getcpu(); }
/** Kernel thread id of the calling thread. */
export function getTid(): number { return native().gettid(); }
/** The typed wrappers of shk_noop, shk_add and shk_futex_wake, for the FFI-cost micro-benchmark. */
export function nativeForBenchmarks(): { noop(): void; add(a: number, b: number): number; futexWake(addr: number, count: number): number } {
  const n = native();
  return { noop: n.noop, add: n.add, futexWake: n.futexWake };
}
