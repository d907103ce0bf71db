// topic.burst (topic.md §9, Toroni's method): topic 'channel', 8-B payloads; bursts of 10 stamped messages
// (per-message latency, one publishMany per burst, 1 ms apart) and 20 000 messages per writer (drain
// throughput of the last reader, first → last message); raw rmp in the same run; net-uds for the 1 × 1 bursts.
// W × R: 1 × 1 and 2 × 2 (rmp.matrix's points that fit a 2-vCPU machine with hybrid waiting).
import { defineScenario, type ReferenceFigure, type Scenario } from '../api.js';

const TORONI: ReferenceFigure = { system: 'Toroni TP (one topic)', value: 'burst latency 53 µs (1W/1R), 46 µs (2W/1R), 57 µs (2W/4R); drain 21.2 M msg/s (1W/1R), 19.4 M msg/s (2W/4R)', machine: 'Ubuntu 18.04 VM, 16 vCPUs, 2 × Xeon E5-2630 v4 @ 2.20 GHz (C++)', method: 'bursts of 10 stamped messages, mean over 500 runs, UDP multicast notification; drain throughput averaged over readers, 20 000 per writer' };
const shapes = [[1, 1, ''], [2, 2, '-2x2']] as const;
const burst = (id: string, title: string, w: number, r: number, s: Partial<Scenario>): Scenario => ({
  id, title, package: '@shmkit/topic', impl: 'topic', pattern: 'fanout',
  roles: [...Array.from({ length: w }, (_, i) => ({ name: `writer${i + 1}`, entry: 'topic-burst', cpu: 'A' as const })),
    ...Array.from({ length: r }, (_, i) => ({ name: `reader${i + 1}`, entry: 'topic-burst', cpu: 'B' as const }))],
  sizes: { full: [8], quick: [8] }, modes: ['hybrid'], placements: ['unpinned'],
  iterations: { full: 5_000, quick: 500 }, warmup: { full: 500, quick: 100 }, runs: { full: 3, quick: 1 },
  baselines: [], quick: false, ...s,
});
for (const [w, r, sfx] of shapes) {
  const who = `${w} publisher${w > 1 ? 's' : ''} → ${r} subscriber${r > 1 ? 's' : ''}`;
  const lat = { unit: 'µs per message (burst of 10)', params: { kind: 'latency', via: 'topic' } };
  defineScenario(burst(`topic.burst${sfx}`, `${who} on topic 'channel', bursts of 10 stamped 8-B messages (one publishMany each, 1 ms apart), per-message now − stamp`, w, r, {
    ...lat, reference: [TORONI],
    compare: [{ scenario: `topic.burst-rmp${sfx}`, label: 'topic / rmp' }, ...(w === 1 ? [{ scenario: 'topic.burst-uds', label: 'topic / net-uds' }] : [])],
  }));
  defineScenario(burst(`topic.burst-rmp${sfx}`, `raw rmp, the same bursts (writeMany) — see topic.burst${sfx}`, w, r, { ...lat, impl: 'rmp', package: '@shmkit/rmp', params: { kind: 'latency', via: 'rmp' } }));
  const drain = { unit: 'msgs/s drain (last reader, first → last message)', iterations: { full: 20_000, quick: 2_000 }, warmup: { full: 0, quick: 0 } };
  defineScenario(burst(`topic.burst-drain${sfx}`, `${who} on topic 'channel', 20 000 8-B messages per publisher (one publish() each), drain throughput`, w, r, {
    ...drain, params: { kind: 'drain', via: 'topic' }, reference: [TORONI], compare: [{ scenario: `topic.burst-drain-rmp${sfx}`, label: 'topic / rmp (msgs/s)' }],
  }));
  defineScenario(burst(`topic.burst-drain-rmp${sfx}`, `raw rmp, the same drain (write() each) — see topic.burst-drain${sfx}`, w, r, { ...drain, impl: 'rmp', package: '@shmkit/rmp', params: { kind: 'drain', via: 'rmp' } }));
}
// net-uds: the rmp-burst role's socket variant (10 frames per socket write, 1 ms apart), 1 × 1.
defineScenario({
  id: 'topic.burst-uds', title: '1 writer → 1 reader over a Unix socket, the same bursts (10 frames per socket write) — see topic.burst',
  package: '@shmkit/topic', impl: 'net-uds', pattern: 'fanout',
  roles: [{ name: 'writer', entry: 'rmp-burst', cpu: 'A' }, { name: 'reader1', entry: 'rmp-burst', cpu: 'B' }],
  sizes: { full: [8], quick: [8] }, modes: ['n/a'], placements: ['unpinned'],
  iterations: { full: 5_000, quick: 500 }, warmup: { full: 500, quick: 100 }, runs: { full: 3, quick: 1 },
  baselines: [], params: { transport: 'net-uds' }, unit: 'µs per message (burst of 10)', quick: false,
});
