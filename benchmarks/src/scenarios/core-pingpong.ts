// core.pingpong: RTT floor over one segment with the payload copied in and out, against the baselines.
import { defineScenario } from '../api.js';

const KiB = 1024, MiB = 1024 * KiB;
defineScenario({
  id: 'core.pingpong', title: 'RTT over one segment, payload copied in and out (spin / hybrid / futex block)',
  package: '@shmkit/shm-core', impl: 'shm-core', pattern: 'pingpong',
  roles: [{ name: 'echo', entry: 'core-pingpong', cpu: 'B' }, { name: 'client', entry: 'core-pingpong', cpu: 'A' }],
  sizes: { full: [8, 64, 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB], quick: [64, 64 * KiB] },
  modes: ['spin', 'hybrid', 'block'],
  placements: ['same', 'cross', 'unpinned'],
  // The size sweep runs in spin and hybrid on cross (the floor the rmp and topic sweeps compare with);
  // every other mode and placement at 64 B and 64 KiB. `same` + spin is listed as skipped.
  sweep: { modes: ['spin', 'hybrid'], placements: ['cross'] },
  // The counts of rmp.pingpong and topic.pingpong, so that the three share their baseline cells.
  iterations: { full: (s) => (s <= 4 * KiB ? 4_000 : s <= 64 * KiB ? 800 : 50), quick: (s) => (s <= 4 * KiB ? 2_000 : 500) },
  warmup: { full: (s) => (s <= 4 * KiB ? 400 : s <= 64 * KiB ? 80 : 5), quick: 200 },
  runs: { full: 3, quick: 1 },
  baselines: ['net-uds', 'net-tcp', 'cp-ipc', 'zeromq'],
  reference: [
    { system: 'TCPSHM', value: 'SHM 0.338 µs, TCP 8.82 µs avg RTT (ZeroMQ TCP 42.3, IPC 30.7)', machine: 'Xeon E5-2687W, pinned', method: 'average RTT of a ping-pong' },
    { system: 'shmipc (Rust)', value: '1.07 µs at 64 B vs UDS 2.66 µs', machine: 'not stated', method: '199 requests in flight, payload never written or read' },
    { system: 'Flow-IPC', value: '~100 µs RTT regardless of size; raw transports 4–7 µs', machine: 'EPYC 7502P', method: 'one cold sample, rounded up to 100 µs' },
  ],
});
