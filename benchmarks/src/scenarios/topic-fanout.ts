// topic.fanout 2 × 2 (topic.md §9) beside topic.fanout (1 × 4) and topic.fanout-1x1 of topic.ts, and the
// 1 × 4 baselines: node:net over a Unix socket (the publisher writes every chunk to each subscriber's socket)
// and zeromq PUB/SUB with a prefix subscription.
import { defineScenario, type Scenario } from '../api.js';

const KiB = 1024;
const roles = (w: number, r: number, entry: string): Scenario['roles'] => [
  ...Array.from({ length: w }, (_, i) => ({ name: w > 1 ? `writer${i + 1}` : 'writer', entry, cpu: 'A' as const })),
  ...Array.from({ length: r }, (_, i) => ({ name: `reader${i + 1}`, entry, cpu: 'B' as const }))];
const base = (id: string, title: string, impl: string, rs: Scenario['roles'], sizes: number[], params?: Record<string, unknown>): Scenario => ({
  id, title, package: '@shmkit/topic', impl, pattern: 'fanout', roles: rs,
  sizes: { full: sizes, quick: [64] }, modes: impl === 'topic' ? ['hybrid'] : ['n/a'], placements: ['unpinned'],
  iterations: { full: (s) => (s <= 512 ? 100_000 : s <= 4 * KiB ? 50_000 : 5_000), quick: 10_000 }, warmup: { full: 4096, quick: 1024 },
  runs: { full: 3, quick: 1 }, baselines: [], unit: 'msgs/s end-to-end', quick: false, params,
});
defineScenario(base('topic.fanout-2x2', '2 publishers → 2 subscriber processes on one topic, per-publisher order checked, end-to-end msgs/s (both publishers) of the last subscriber',
  'topic', roles(2, 2, 'topic-stream'), [8, 64, 512, 4 * KiB, 64 * KiB]));
defineScenario(base('topic.fanout-uds', '1 writer → 4 readers over Unix sockets (one connection each, the writer writes every chunk to each) — see topic.fanout',
  'net-uds', roles(1, 4, 'rmp-stream-net'), [64, 4 * KiB], { transport: 'net-uds' }));
// Fewer messages: zeromq's per-message send promise and 4 receiving processes on 2 vCPUs (~10 K msgs/s).
defineScenario({ ...base('topic.fanout-zmq', '1 publisher → 4 subscribers over zeromq PUB/SUB (ipc://, prefix subscription), 20 000 messages — see topic.fanout',
  'zeromq', roles(1, 4, 'topic-zmq'), [64, 4 * KiB]), iterations: { full: 20_000, quick: 2_000 }, warmup: { full: 1024, quick: 256 } });
