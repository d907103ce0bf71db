// @shmkit/rmp scenarios (rmp.md §9). Every role is a separate process; the socket sides of the
// one-way comparisons are scenario variants (`-tcp`, `-uds`) whose impl is the baseline id, since the
// harness's own baselines are echo (pingpong) roles.
import { defineScenario, type ReferenceFigure, type Scenario } from '../api.js';

const KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
const TORONI_MACHINE = 'Ubuntu 18.04 VM, 16 vCPUs on 2 sockets, 2 × Xeon E5-2630 v4 @ 2.20 GHz (C++)';
const TORONI_TP: ReferenceFigure = { system: 'Toroni RMP/TP', value: '21.2 M msg/s (1 writer, 1 reader); 19.8 M msg/s (1 writer, 16 readers); 9.57 M msg/s (7 writers, 1 reader)', machine: TORONI_MACHINE, method: 'drain throughput (first to last received message) averaged over readers, few-byte messages, 4 MiB ring, 500 runs' };
const TORONI_TCP: ReferenceFigure = { system: 'Toroni RMP', value: 'TCP/Toroni time ratio 8.3 (10 B), 6.49 (100 B), 7.28 (1 KB), 5.45 (4 KB), 5.13 (8 KB), 4.61 (16 KB), 4.32 (32 KB), 4.13 (64 KB), 2.09 (128 KB), 1.79 (256 KB)', machine: 'physical ESXi host', method: '1W/1R, time to receive 100 000 messages, TCP loopback' };
const TORONI_LAT: ReferenceFigure = { system: 'Toroni RMP', value: 'burst latency 53 µs (1W/1R), 42–53 µs with 1 reader, 200 µs (1W/16R); 0.024 ms per notification with 1 reader', machine: TORONI_MACHINE, method: 'bursts of 10 stamped messages, mean over 500 runs, includes the UDP multicast notification' };

// ---- one-way stream: writer (role 1) → reader(s); the last reader measures end to end ----
const stream = (id: string, title: string, entry: string, s: Partial<Scenario> & Pick<Scenario, 'sizes'>, readers = 1): Scenario => ({
  id, title, package: '@shmkit/rmp', impl: 'rmp', pattern: readers > 1 ? 'fanout' : 'throughput',
  roles: [{ name: 'writer', entry, cpu: 'A' }, ...Array.from({ length: readers }, (_, i) => ({ name: readers > 1 ? `reader${i + 1}` : 'reader', entry, cpu: 'B' as const }))],
  modes: ['hybrid'], placements: ['cross', 'unpinned'],
  iterations: { full: 1_000_000, quick: 20_000 }, warmup: { full: 64 * 1024, quick: 1024 }, runs: { full: 3, quick: 1 },
  baselines: [], unit: 'msgs/s end-to-end', ...s,
});
// Payload budget per cell: ≤ 1 M messages and ≤ ~1 GiB (quick: ≤ 200 000 and ≤ 64 MiB).
const full = (sz: number) => Math.max(5_000, Math.min(1_000_000, Math.floor(GiB / Math.max(sz, 64))));
const quick = (sz: number) => Math.max(1_000, Math.min(200_000, Math.floor((64 * MiB) / Math.max(sz, 64))));
const tpSizes = { full: [8, 64, 512, 4 * KiB, 64 * KiB], quick: [64, 64 * KiB] };

defineScenario(stream('rmp.throughput', '1 writer → 1 reader, writeMany(64), 4 MiB ring, end-to-end msgs/s (target ≥ 5 M msgs/s at 64 B)', 'rmp-stream', {
  sizes: tpSizes, modes: ['spin', 'hybrid', 'block'], iterations: { full, quick }, warmup: { full: 4096, quick: 1024 },
  params: { ringMiB: 4, api: 'writeMany' }, reference: [TORONI_TP],
}));
defineScenario(stream('rmp.throughput-write', '1 writer → 1 reader, one write() per message, 4 MiB ring, end-to-end msgs/s', 'rmp-stream', {
  sizes: { full: tpSizes.full, quick: [64] }, modes: ['spin', 'hybrid', 'block'], iterations: { full, quick }, warmup: { full: 4096, quick: 1024 },
  params: { ringMiB: 4, api: 'write' }, quick: false, compare: [{ scenario: 'rmp.throughput', label: 'write / writeMany(64)' }],
}));

// rmp.vs-sockets: time to receive 100 000 messages; ratio TCP/RMP = rmp msgs/s ÷ net-tcp msgs/s of the same size.
// Toroni's 1 KB … 256 KB read as KiB (binary units).
const vsSizes = { full: [10, 100, ...[1, 4, 8, 16, 32, 64, 128, 256].map((k) => k * KiB)], quick: [64, 64 * KiB] };
// 100 000 messages up to 4 KiB; larger sizes ≤ 1 GiB of payload per run (the ratio is what compares).
const vsIter = { full: (sz: number) => (sz <= 4 * KiB ? 100_000 : Math.max(2_000, Math.floor(GiB / sz))), quick: (sz: number) => (sz <= 4 * KiB ? 20_000 : 2_000) };
const vs = (suffix: string, impl: string, entry: string, transport?: string) => defineScenario(stream(`rmp.vs-sockets${suffix}`,
  `1 writer → 1 reader, ${impl === 'rmp' ? 'rmp writeMany(64)' : `${impl} stream (64 frames per socket write)`}, time to receive 100 000 messages (msgs/s; ratio TCP/RMP = rmp ÷ net-tcp)`, entry, {
  impl, sizes: vsSizes, placements: ['unpinned', 'cross'], iterations: vsIter, warmup: { full: 1024, quick: 256 },
  params: { ringMiB: 4, api: 'writeMany', transport }, reference: impl === 'rmp' ? [TORONI_TCP] : undefined,
  // rmp msgs/s ÷ socket msgs/s = socket time ÷ rmp time (Toroni's TCP/RMP; inverse of the suite's ours/baseline).
  compare: impl === 'rmp' ? [{ scenario: 'rmp.vs-sockets-tcp', label: 'TCP/RMP (time)' }, { scenario: 'rmp.vs-sockets-uds', label: 'UDS/RMP (time)' }] : undefined,
  // Left out of quick runs to keep `bench:quick` under a minute (rmp.throughput is the quick one-way cell).
  quick: false,
}));
vs('', 'rmp', 'rmp-stream');
vs('-tcp', 'net-tcp', 'rmp-stream-net', 'net-tcp');
vs('-uds', 'net-uds', 'rmp-stream-net', 'net-uds');

defineScenario(stream('rmp.fanout', '1 writer → 4 readers, writeMany(64), hybrid, end-to-end msgs/s of the last reader', 'rmp-stream', {
  sizes: { full: [64, 4 * KiB], quick: [64] }, placements: ['unpinned'],
  iterations: { full: (sz) => (sz <= 64 ? 500_000 : 100_000), quick: 10_000 }, warmup: { full: 4096, quick: 1024 },
  params: { ringMiB: 4, api: 'writeMany' }, reference: [TORONI_TP], quick: false,
  compare: [{ scenario: 'rmp.fanout-uds', label: 'UDS/RMP (time)' }],
}, 4));
defineScenario(stream('rmp.fanout-uds', '1 writer → 4 readers over Unix sockets (one connection each) — see rmp.fanout', 'rmp-stream-net', {
  impl: 'net-uds', sizes: { full: [64, 4 * KiB], quick: [64] }, placements: ['unpinned'],
  iterations: { full: (sz) => (sz <= 64 ? 500_000 : 100_000), quick: 10_000 }, warmup: { full: 4096, quick: 1024 },
  params: { transport: 'net-uds' }, quick: false,
}, 4));

// rmp.bp-transfer: (ring MiB, messages, size, wait ms); the cell fails if the reader is overrun.
for (const [mib, msgs, size, waitMs] of [[1, 100_000, 10, 1], [1, 100_000, 10, 2], [1, 100_000, 10, 6], [4, 100_000, 10, 2]] as const) {
  defineScenario(stream(`rmp.bp-transfer-${mib}m-${waitMs}ms`, `${msgs} messages of ${size} B through a ${mib} MiB ring, write(), backpressure wait ${waitMs} ms then overwrite; fails if the reader overruns`, 'rmp-stream', {
    sizes: { full: [size], quick: [size] }, modes: ['hybrid', 'block'], placements: ['unpinned'],
    iterations: { full: msgs, quick: msgs }, warmup: { full: 0, quick: 0 }, params: { ringMiB: mib, api: 'write', bpWaitMs: waitMs }, quick: false,
  }));
}

// ---- round trips and wake-ups ----
defineScenario({
  id: 'rmp.pingpong', title: 'RTT over two rmp channels (ring = max(4 MiB, 2 × size)); reader wait mode spin / hybrid / block',
  package: '@shmkit/rmp', impl: 'rmp', pattern: 'pingpong',
  roles: [{ name: 'echo', entry: 'rmp-pingpong', cpu: 'B' }, { name: 'client', entry: 'rmp-pingpong', cpu: 'A' }],
  sizes: { full: [8, 64, 4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB], quick: [64, 64 * KiB] },
  modes: ['spin', 'hybrid', 'block'], placements: ['same', 'cross', 'unpinned'],
  sweep: { modes: ['hybrid'], placements: ['cross'] }, // every size in hybrid/cross; the rest at 64 B and 64 KiB
  iterations: { full: (s) => (s <= 4 * KiB ? 4_000 : s <= 64 * KiB ? 800 : 50), quick: (s) => (s <= 4 * KiB ? 1_000 : 300) },
  warmup: { full: (s) => (s <= 4 * KiB ? 400 : s <= 64 * KiB ? 80 : 5), quick: 100 },
  runs: { full: 3, quick: 1 },
  baselines: ['net-uds', 'net-tcp', 'cp-ipc', 'zeromq'],
  reference: [TORONI_LAT],
  compare: [{ scenario: 'core.pingpong', label: 'rmp / core floor' }],
  // Full runs only: its six quick cells would push `bench:quick` past a minute on a loaded 2-vCPU
  // machine; rmp.notify is the quick rmp round trip.
  quick: false,
});
const wake = (id: string, title: string, entry: string, params: Record<string, unknown>): Scenario => ({
  id, title, package: '@shmkit/rmp', impl: entry === 'core-wake' ? 'fifo' : 'rmp', pattern: 'wakeup',
  roles: [{ name: 'echo', entry, cpu: 'B' }, { name: 'client', entry, cpu: 'A' }],
  sizes: { full: [8], quick: [8] }, modes: ['block'], placements: ['same', 'cross', 'unpinned'],
  iterations: { full: 5_000, quick: 500 }, warmup: { full: 500, quick: 100 }, runs: { full: 3, quick: 1 },
  baselines: [], params, unit: 'µs one-way',
  compare: entry === 'core-wake' ? undefined : [{ scenario: 'rmp.notify-fifo', label: 'rmp / fifo (target ≤ 1.2)' }],
});
defineScenario(wake('rmp.notify', 'wake-up of a parked rmp reader (block mode, fd notifier): half an 8-B round trip (target ≤ 1.2 × rmp.notify-fifo)', 'rmp-pingpong', { half: true }));
defineScenario(wake('rmp.notify-fifo', 'raw FIFO wake-up (WakeHandle fifo watched by libuv), same run as rmp.notify', 'core-wake', { mech: 'fifo' }));

// ---- single-process micro-benchmarks ----
const micro = (id: string, title: string, params: Record<string, unknown>, sizes = { full: [64], quick: [64] }, it = { full: 2_000_000, quick: 100_000 }): Scenario => ({
  id, title, package: '@shmkit/rmp', impl: 'rmp', pattern: 'micro',
  roles: [{ name: 'main', entry: 'rmp-micro', cpu: 'any' }],
  sizes, modes: ['n/a'], placements: ['unpinned'],
  iterations: it, warmup: { full: Math.ceil(it.full / 10), quick: Math.ceil(it.quick / 10) },
  runs: { full: 5, quick: 1 }, baselines: [], params, unit: 'ns/op',
});
defineScenario({ ...micro('rmp.lock', 'write() of 64 B, no reader: writer lock + copy + commit per message', { op: 'write' }), quick: false });
defineScenario(micro('rmp.lock-many', 'writeMany(64) of 64 B, no reader: cost per message (one lock per 64)', { op: 'writeMany' }));
for (const mib of [1, 4, 16, 256]) {
  defineScenario({ ...micro(`rmp.ring-size-${mib}m`, `${mib} MiB ring, write one then read one ("sweeping"), 64 B`, { op: 'sweep', ringMiB: mib },
    { full: [64], quick: [64] }, { full: 1_000_000, quick: 50_000 }), quick: false });
}

// ---- burst latency (Toroni's table method): 500 bursts of 10 stamped 8-B messages, `now − stamp` ----
const burst = (id: string, title: string, readers: number, impl = 'rmp', transport?: string): Scenario => ({
  id, title, package: '@shmkit/rmp', impl, pattern: 'fanout',
  roles: [{ name: 'writer', entry: 'rmp-burst', cpu: 'A' }, ...Array.from({ length: readers }, (_, i) => ({ name: `reader${i + 1}`, entry: 'rmp-burst', cpu: 'B' as const }))],
  sizes: { full: [8], quick: [8] }, modes: transport ? ['n/a'] : ['block', 'hybrid'], placements: readers > 1 ? ['unpinned'] : ['unpinned', 'cross'],
  iterations: { full: 5_000, quick: 500 }, warmup: { full: 500, quick: 100 }, runs: { full: 3, quick: 1 },
  baselines: [], params: { transport }, unit: 'µs per message (burst of 10)', quick: false,
  reference: impl === 'rmp' ? [TORONI_LAT] : undefined,
  compare: impl === 'rmp' ? [{ scenario: `${id}-uds`, label: 'rmp / net-uds' }, { scenario: `${id}-tcp`, label: 'rmp / net-tcp' }] : undefined,
});
for (const [suffix, readers] of [['', 1], ['-4r', 4]] as const) {
  const id = `rmp.burst-latency${suffix}`, who = `1 writer → ${readers} reader${readers > 1 ? 's' : ''}`;
  defineScenario(burst(id, `${who}, bursts of 10 stamped 8-B messages (one writeMany each, 1 ms apart), per-message now − stamp`, readers));
  defineScenario(burst(`${id}-uds`, `${who} over Unix sockets, the same bursts (10 frames per socket write)`, readers, 'net-uds', 'net-uds'));
  defineScenario(burst(`${id}-tcp`, `${who} over TCP loopback, the same bursts (10 frames per socket write)`, readers, 'net-tcp', 'net-tcp'));
}

// rmp.write-slots: write() cost with 0 … 256 active readers parked at one position, policy overwrite
// (with the writer's horizon cache; rmp has no switch to turn it off).
for (const readers of [0, 64, 128, 192, 256]) {
  defineScenario({ ...micro(`rmp.write-slots-${readers}`, `write() of 64 B, 4 MiB ring, policy overwrite, ${readers} active readers at one position`, { op: 'write', readers },
    { full: [64], quick: [64] }, { full: 1_000_000, quick: 50_000 }), quick: false,
    compare: readers > 0 ? [{ scenario: 'rmp.write-slots-0', label: `${readers} / 0 readers` }] : undefined });
}
