// shm-core micro-benchmarks (shm-core.md §9): one process, ns per operation.
import { defineScenario, type Scenario } from '../api.js';

const micro = (id: string, title: string, op: string, full: number, quick: number): Scenario => ({
  id, title, package: '@shmkit/shm-core', impl: 'shm-core', pattern: 'micro',
  roles: [{ name: 'main', entry: 'core-micro', cpu: 'any' }],
  sizes: { full: [0], quick: [0] }, modes: ['n/a'], placements: ['unpinned'],
  iterations: { full, quick }, warmup: { full: Math.ceil(full / 10), quick: Math.ceil(quick / 10) },
  runs: { full: 5, quick: 1 }, baselines: [], params: { op }, unit: 'ns/op',
});

defineScenario(micro('core.ffi-noop', 'empty koffi call (shk_noop)', 'ffi-noop', 2_000_000, 100_000));
defineScenario(micro('core.segment-open-close', 'Segment.open + close of a 64 KiB segment (shm_open, mmap, koffi view, header checks)', 'segment-open-close', 5_000, 1_000));
defineScenario(micro('core.view', 'typed-array view creation over a mapped segment (Segment.int32)', 'view', 1_000_000, 100_000));
defineScenario(micro('core.futex-wake', 'futexWake with no waiter (FFI call + futex syscall)', 'futex-wake', 1_000_000, 100_000));
defineScenario(micro('core.atomics', 'Atomics.add + Atomics.load on a segment view', 'atomics', 10_000_000, 1_000_000));
