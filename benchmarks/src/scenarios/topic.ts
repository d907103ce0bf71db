// @shmkit/topic scenarios (topic.md §9): single-process publish + dispatch micro-benchmarks (ns per
// message), raw rmp in the same run as the floor, and a cross-process fan-out through topics.
import { defineScenario, type ReferenceFigure, type Scenario } from '../api.js';

const KiB = 1024;
const TORONI: ReferenceFigure = { system: 'Toroni TP (one topic)', value: '21.2 M msg/s for 1 writer / 1 reader; burst latency 42–53 µs with 1 reader; stress 7 × 16, 500 B, 64 KiB ring: 23.45 K msg/s, 0 expiries', machine: 'Ubuntu 18.04 VM, 16 vCPUs, 2 × Xeon E5-2630 v4 @ 2.20 GHz (C++)', method: 'drain throughput averaged over readers, few-byte messages, 4 MiB ring, 500 runs; latency includes the UDP notification' };

const micro = (id: string, title: string, params: Record<string, unknown>, sizes: Scenario['sizes'], it = { full: 1_000_000, quick: 50_000 }, impl = 'topic'): Scenario => ({
  id, title, package: impl === 'rmp' ? '@shmkit/rmp' : '@shmkit/topic', impl, pattern: 'micro',
  roles: [{ name: 'main', entry: 'topic-micro', cpu: 'any' }],
  sizes, modes: ['n/a'], placements: ['unpinned'],
  iterations: it, warmup: { full: Math.ceil(it.full / 10), quick: Math.ceil(it.quick / 10) },
  runs: { full: 5, quick: 1 }, baselines: [], params, unit: 'ns/op',
});

// The publish path with no reader: publish(), a TopicPublisher, a coalescing one, raw rmp write().
const pubIt = { full: 1_000_000, quick: 50_000 };
for (const [op, what] of [['publish', 'TopicChannel.publish()'], ['publisher', 'TopicPublisher.publish()'], ['coalesce', 'coalescing TopicPublisher (flush per batch)']] as const) {
  defineScenario({ ...micro(op === 'publish' ? 'topic.publish' : `topic.publish-${op}`, `${what} on /channel/foo/bar, 4 MiB ring, no reader`, { op }, { full: [1, 64], quick: [64] }, pubIt),
    quick: false, compare: [{ scenario: 'topic.publish-rmp', label: 'topic / rmp' }] });
}
defineScenario({ ...micro('topic.publish-rmp', 'raw rmp write() of the same payload, no reader (the floor of topic.publish)', { op: 'rmp-write' }, { full: [1, 64], quick: [64] }, pubIt, 'rmp'), quick: false });

// One matching subscriber vs raw rmp at 64 B (target topic ≤ 1.3 × raw rmp).
defineScenario({ ...micro('topic.sweep', 'publish one on /channel/foo/bar, dispatch it to 1 matching subscription (view) in the same process (target ≤ 1.3 × topic.sweep-rmp)',
  { op: 'sweep' }, { full: [1, 64], quick: [64] }, undefined, 'topic'), compare: [{ scenario: 'topic.sweep-rmp', label: 'topic / rmp (target ≤ 1.3)' }] });
defineScenario(micro('topic.sweep-rmp', 'raw rmp write() + drain() of the same payload, same process (the floor of topic.sweep)',
  { op: 'sweep-rmp' }, { full: [1, 64], quick: [64] }, undefined, 'rmp'));

// A non-matching subscriber on 64 KiB messages vs one that copies (target ≥ 10 ×).
const big = { full: [64, 64 * KiB], quick: [64 * KiB] }, bigIt = { full: (s: number) => (s > 4 * KiB ? 20_000 : 500_000), quick: 4_000 };
defineScenario({ ...micro('topic.filter-skip', 'non-matching subscription, dispatch only (ring pre-filled, one drain per fill): the message is skipped without copying its payload (target ≥ 10 × faster than topic.filter-copy at 64 KiB)', { op: 'skip' }, big), iterations: bigIt, warmup: { full: 1000, quick: 400 },
  compare: [{ scenario: 'topic.filter-copy', label: 'copy / skip (target ≥ 10 at 64 KiB)', invert: true }] });
defineScenario({ ...micro('topic.filter-copy', 'matching subscription with the default copy (a fresh Uint8Array per message), dispatch only as topic.filter-skip', { op: 'copy' }, big), iterations: bigIt, warmup: { full: 1000, quick: 400 } });

// Filtering cost with many subscriptions (64 B): 0 % and 1-of-N matching.
for (const n of [1, 10, 100, 1000]) {
  defineScenario({ ...micro(`topic.filter-${n}subs`, `${n} subscription${n > 1 ? 's' : ''} (/s/<i>), message on /none (0 % matching), 64 B, dispatch only`,
    { op: 'subs', subs: n, match: false }, { full: [64], quick: [64] }, { full: 500_000, quick: 50_000 }), quick: false,
    compare: n > 1 ? [{ scenario: 'topic.filter-1subs', label: `${n} / 1 subscription` }] : undefined });
  if (n > 1) defineScenario({ ...micro(`topic.filter-${n}subs-match1`, `${n} subscriptions (/s/<i>), message on /s/0 (1 of ${n} matching), 64 B, dispatch only`,
    { op: 'subs', subs: n, match: true }, { full: [64], quick: [64] }, { full: 500_000, quick: 50_000 }), quick: false });
}

// Cross-process one-way streams through one topic ('/channel'); the last subscriber measures end to end.
defineScenario({
  id: 'topic.throughput', title: '1 publisher → 1 subscriber process on one topic, end-to-end msgs/s',
  package: '@shmkit/topic', impl: 'topic', pattern: 'throughput',
  roles: [{ name: 'writer', entry: 'topic-stream', cpu: 'A' }, { name: 'reader', entry: 'topic-stream', cpu: 'B' }],
  sizes: { full: [64, 4 * KiB, 64 * KiB], quick: [64, 64 * KiB] }, modes: ['hybrid'], placements: ['cross', 'unpinned'],
  iterations: { full: (s) => (s <= 512 ? 500_000 : s <= 4 * KiB ? 100_000 : 10_000), quick: (s) => (s <= 4 * KiB ? 20_000 : 1_000) }, warmup: { full: 4096, quick: 1024 },
  runs: { full: 3, quick: 1 }, baselines: [], unit: 'msgs/s end-to-end', reference: [TORONI],
  compare: [{ scenario: 'rmp.throughput', label: 'topic / rmp (msgs/s)' }],
});
for (const [suffix, readers] of [['', 4], ['-1x1', 1]] as const) {
  defineScenario({
    id: `topic.fanout${suffix}`, title: `1 publisher → ${readers} subscriber process${readers > 1 ? 'es' : ''} on one topic, end-to-end msgs/s of the last subscriber`,
    package: '@shmkit/topic', impl: 'topic', pattern: readers > 1 ? 'fanout' : 'throughput',
    roles: [{ name: 'writer', entry: 'topic-stream', cpu: 'A' }, ...Array.from({ length: readers }, (_, i) => ({ name: `reader${i + 1}`, entry: 'topic-stream', cpu: 'B' as const }))],
    sizes: { full: [8, 64, 512, 4 * KiB, 64 * KiB], quick: [64] }, modes: ['hybrid'], placements: ['unpinned'],
    iterations: { full: (s) => (s <= 512 ? 100_000 : s <= 4 * KiB ? 50_000 : 5_000), quick: 10_000 }, warmup: { full: 4096, quick: 1024 },
    runs: { full: 3, quick: 1 }, baselines: [], unit: 'msgs/s end-to-end', quick: false,
    compare: readers > 1 ? [{ scenario: 'topic.fanout-uds', label: 'topic / net-uds (msgs/s)' }, { scenario: 'topic.fanout-zmq', label: 'topic / zeromq (msgs/s)' }] : undefined,
  });
}

// Round trip over two topic channels (topic '/ping'), against the suite's baselines and raw rmp.
defineScenario({
  id: 'topic.pingpong', title: 'RTT over two topic channels (callback subscriptions, ring = max(4 MiB, 2 × size)); wait mode hybrid / block',
  package: '@shmkit/topic', impl: 'topic', pattern: 'pingpong',
  roles: [{ name: 'echo', entry: 'rmp-pingpong', cpu: 'B' }, { name: 'client', entry: 'rmp-pingpong', cpu: 'A' }],
  sizes: { full: [8, 64, 4 * KiB, 64 * KiB, 1024 * KiB, 4096 * KiB], quick: [64, 64 * KiB] },
  // No 'spin': a spinning pump and the callback that answers share one thread (a 64-B spin cell stalled).
  modes: ['hybrid', 'block'], placements: ['same', 'cross', 'unpinned'],
  sweep: { modes: ['hybrid'], placements: ['cross'] }, // every size in hybrid/cross; the rest at 64 B and 64 KiB
  iterations: { full: (s) => (s <= 4 * KiB ? 4_000 : s <= 64 * KiB ? 800 : 50), quick: (s) => (s <= 4 * KiB ? 1_000 : 300) },
  warmup: { full: (s) => (s <= 4 * KiB ? 400 : s <= 64 * KiB ? 80 : 5), quick: 100 },
  runs: { full: 3, quick: 1 }, baselines: ['net-uds', 'net-tcp', 'cp-ipc', 'zeromq'], params: { via: 'topic' },
  quick: false, compare: [{ scenario: 'rmp.pingpong', label: 'topic / rmp' }],
});
