// core.spin-rtt: round trip through one shm word, both processes busy-spinning (the physical floor).
import { defineScenario } from '../api.js';

defineScenario({
  id: 'core.spin-rtt', title: 'RTT through one shm word, both sides busy-spin on Atomics.load',
  package: '@shmkit/shm-core', impl: 'shm-core', pattern: 'pingpong',
  roles: [{ name: 'echo', entry: 'core-spin', cpu: 'B' }, { name: 'client', entry: 'core-spin', cpu: 'A' }],
  sizes: { full: [4], quick: [4] }, modes: ['spin'],
  // `same` is listed so the matrix records why it is not measured (a spinning peer starves the other).
  placements: ['same', 'cross', 'unpinned'],
  iterations: { full: 100_000, quick: 10_000 }, warmup: { full: 10_000, quick: 1_000 }, runs: { full: 5, quick: 1 },
  baselines: [],
  reference: [
    { system: 'iceoryx2', value: '109–326 ns (same core / different cores)', machine: 'various x86', method: 'two pinned threads of one process, average, payload not touched' },
    { system: 'TCPSHM', value: 'SHM 0.338 µs avg RTT', machine: 'Xeon E5-2687W, pinned', method: 'average RTT of a ping-pong' },
  ],
});
