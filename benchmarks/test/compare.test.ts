// Quick-run opt-out (`quick: false`) and the docs compare columns (`compare`).
import { afterEach, describe, expect, it } from 'vitest';
import { clearScenarios, defineScenario, type Scenario } from '../src/api.js';
import { compareRatio, docsBlock, readmeBlock } from '../src/docs.js';
import type { Cell, Results } from '../src/format.js';
import { buildMatrix, parseFlags } from '../src/run.js';

const tp = (o: Partial<Scenario> = {}): Scenario => ({
  id: 'rmp.vs-sockets', title: 't', package: '@shmkit/rmp', impl: 'rmp', pattern: 'throughput',
  roles: [{ name: 'writer', entry: 'rmp-stream', cpu: 'A' }, { name: 'reader', entry: 'rmp-stream', cpu: 'B' }],
  sizes: { full: [10, 262144], quick: [64] }, modes: ['hybrid'], placements: ['unpinned'],
  iterations: { full: 1000, quick: 100 }, warmup: { full: 10, quick: 10 }, runs: { full: 1, quick: 1 }, baselines: [], ...o,
});
const cell = (o: Partial<Cell>): Cell => ({
  scenario: 'rmp.vs-sockets', impl: 'rmp', baseline: false, pattern: 'throughput', size: 10, mode: 'hybrid', placement: 'unpinned',
  runs: [], p50Ns: null, p99Ns: null, opsPerSec: null, bytesPerSec: null, ratios: {}, status: 'ok', ...o,
});

afterEach(() => clearScenarios());

describe('quick: false', () => {
  it('leaves the scenario out of quick runs only', () => {
    const a = defineScenario(tp()), b = defineScenario(tp({ id: 'rmp.vs-sockets-tcp', quick: false }));
    expect(buildMatrix([a, b], parseFlags(['--quick'])).map((p) => p.scenario.id)).toEqual(['rmp.vs-sockets']);
    expect(new Set(buildMatrix([a, b], parseFlags([])).map((p) => p.scenario.id))).toEqual(new Set(['rmp.vs-sockets', 'rmp.vs-sockets-tcp']));
  });
});

describe('compare columns', () => {
  it('ratio of msgs/s for throughput, of p50 for latency, inverted on request, – when missing', () => {
    expect(compareRatio(cell({ opsPerSec: 800 }), cell({ opsPerSec: 100 }), false)).toBe('8');
    expect(compareRatio(cell({ p50Ns: 1200 }), cell({ p50Ns: 1000 }), false)).toBe('1.2');
    expect(compareRatio(cell({ p50Ns: 1000 }), cell({ p50Ns: 12000 }), true)).toBe('12');
    expect(compareRatio(cell({ opsPerSec: 800 }), undefined, false)).toBe('–');
    expect(compareRatio(cell({ opsPerSec: 800 }), cell({ status: 'failed' }), false)).toBe('–');
    expect(compareRatio(cell({ opsPerSec: 800 }), cell({ p50Ns: 5 }), false)).toBe('–');
  });
  it('the docs table shows the other scenario of the same size and placement with the ratio', () => {
    const s = defineScenario(tp({ compare: [{ scenario: 'rmp.vs-sockets-tcp', label: 'TCP/RMP (time)' }] }));
    const o = defineScenario(tp({ id: 'rmp.vs-sockets-tcp', impl: 'net-tcp' }));
    const res: Results = {
      schemaVersion: 1, startedAt: '2026-12-04T00:00:00.000Z', quick: false, gitCommit: null,
      machine: { cpuModel: 'x', vcpus: 2, virtualized: true, kernel: 'k', node: '20', koffi: null, zeromq: null, taskset: true },
      cells: [cell({ opsPerSec: 830 }), cell({ size: 262144, opsPerSec: 179 }),
        cell({ scenario: 'rmp.vs-sockets-tcp', impl: 'net-tcp', opsPerSec: 100 }), cell({ scenario: 'rmp.vs-sockets-tcp', impl: 'net-tcp', size: 262144, opsPerSec: 100 })],
    };
    const md = docsBlock(res, [s, o], []);
    expect(md).toContain('| `rmp.vs-sockets-tcp` | TCP/RMP (time) |');
    expect(md).toContain('| 10 B | hybrid | unpinned | 830 ops/s | 100 ops/s | 8.3 |');
    expect(md).toContain('| 256 KiB | hybrid | unpinned | 179 ops/s | 100 ops/s | 1.79 |');
  });
});

describe('README block', () => {
  it('lists the 64 B and 64 KiB pingpong cells of one placement with their net-uds figures and the chart', () => {
    const pp = (o: Partial<Cell>) => cell({ scenario: 'core.pingpong', impl: 'shm-core', pattern: 'pingpong', size: 64, mode: 'hybrid', placement: 'cross', p50Ns: 2300, p99Ns: 3700, ...o });
    const res: Results = { schemaVersion: 1, startedAt: '2026-12-05T00:00:00.000Z', quick: false, gitCommit: null,
      machine: { cpuModel: 'cpu', vcpus: 2, virtualized: true, kernel: 'k', node: '20.20.2', koffi: '3.3.4', zeromq: null, taskset: true },
      cells: [
        pp({ ratios: { 'net-uds': { p50: 0.05, p99: 0.1 } } }),
        pp({ impl: 'net-uds', baseline: true, mode: 'n/a', p50Ns: 46000, p99Ns: 37000 }),
        pp({ size: 4096 }), pp({ placement: 'same' }), pp({ size: 65536, mode: 'spin', status: 'failed', p50Ns: null, p99Ns: null }),
      ] };
    const md = readmeBlock(res, 'cross', true);
    expect(md.split('\n').filter((l) => l.startsWith('| `'))).toEqual(['| `core.pingpong` | 64 B | hybrid | 2.3 / 3.7 | 46 / 37 | 0.05 |']);
    expect(md).toContain('placement `cross`');
    expect(md).toContain('![RTT p50 vs payload size (cross)](docs/benchmarks-latency-cross.svg)');
    expect(readmeBlock({ ...res, cells: [] }, 'same', false)).toContain('(no pingpong cells on this placement in the last run)');
  });
});
