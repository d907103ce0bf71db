// core.wake-*: one-way wake-up latency of a parked peer, per mechanism (half a blocking round trip).
import { defineScenario, type Scenario } from '../api.js';

const wake = (id: string, title: string, entry: string, params: Record<string, unknown>, eventfds = 0): Scenario => ({
  id, title, package: '@shmkit/shm-core', impl: 'shm-core', pattern: 'wakeup',
  roles: [{ name: 'echo', entry, cpu: 'B' }, { name: 'client', entry, cpu: 'A' }],
  sizes: { full: [0], quick: [0] }, modes: ['block'], placements: ['same', 'cross', 'unpinned'],
  iterations: { full: 5_000, quick: 500 }, warmup: { full: 500, quick: 100 }, runs: { full: 3, quick: 1 },
  baselines: [], params, eventfds, unit: 'µs one-way',
});

defineScenario(wake('core.wake-fifo', 'wake-up through a named FIFO watched by libuv (WakeHandle fifo)', 'core-wake', { mech: 'fifo' }));
defineScenario(wake('core.wake-eventfd', 'wake-up through an eventfd watched by libuv (WakeHandle eventfd)', 'core-wake', { mech: 'eventfd' }, 2));
defineScenario(wake('core.wake-futex', 'wake-up of a thread blocked in a synchronous futex wait (futexWait/futexWake)', 'core-pingpong', { mode: 'block' }));
