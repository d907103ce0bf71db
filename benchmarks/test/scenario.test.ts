import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScenarioError, clearScenarios, defineScenario, type Scenario } from '../src/api.js';
import { Budget } from '../src/budget.js';
import { baselineKey, buildMatrix, globToRe, loadScenarios, parseFlags, sharedCell } from '../src/run.js';
import type { Cell } from '../src/format.js';

const base = (o: Partial<Scenario> = {}): Scenario => ({
  id: 'rmp.pingpong', title: 't', package: '@shmkit/rmp', impl: 'rmp', pattern: 'pingpong',
  roles: [{ name: 'echo', entry: 'rmp-echo', cpu: 'B' }, { name: 'client', entry: 'rmp-client', cpu: 'A' }],
  sizes: { full: [64, 65536], quick: [64] }, modes: ['hybrid'], placements: ['same', 'cross', 'unpinned'],
  iterations: { full: 1000, quick: 100 }, warmup: { full: 10, quick: 10 }, runs: { full: 3, quick: 1 },
  baselines: ['net-uds', 'zeromq'], ...o,
});

afterEach(() => clearScenarios());

describe('defineScenario validation', () => {
  it('accepts a valid scenario', () => { expect(defineScenario(base()).id).toBe('rmp.pingpong'); });
  it('rejects a duplicate id', () => {
    defineScenario(base());
    expect(() => defineScenario(base())).toThrow(/duplicate scenario id rmp\.pingpong/);
  });
  it.each(['rmp', 'Rmp.pingpong', 'rmp..x', 'rmp.ping pong', '.rmp'])('rejects the invalid id %s', (id) => {
    expect(() => defineScenario(base({ id }))).toThrow(ScenarioError);
  });
  it('rejects empty sizes', () => {
    expect(() => defineScenario(base({ sizes: { full: [], quick: [64] } }))).toThrow(/empty sizes\.full/);
  });
  it('rejects an unknown baseline', () => {
    expect(() => defineScenario(base({ baselines: ['net-uds', 'grpc' as never] }))).toThrow(/unknown baseline "grpc"/);
  });
  it('rejects a micro scenario with two roles and a bad role entry', () => {
    expect(() => defineScenario(base({ pattern: 'micro', baselines: [] }))).toThrow(/exactly one role/);
    expect(() => defineScenario(base({ roles: [{ name: 'a', entry: '../x', cpu: 'A' }] }))).toThrow(/invalid entry/);
  });
  it('discovers every scenario file dropped into the scenarios folder', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'shmkit-bench-test-'));
    const api = new URL('../src/api.ts', import.meta.url).href;
    const file = (id: string) => `import { defineScenario } from ${JSON.stringify(api)};
defineScenario({ id: ${JSON.stringify(id)}, title: 't', package: '@shmkit/rmp', impl: 'rmp', pattern: 'pingpong',
  roles: [{ name: 'echo', entry: 'rmp-echo', cpu: 'B' }, { name: 'client', entry: 'rmp-client', cpu: 'A' }],
  sizes: { full: [64], quick: [64] }, modes: ['hybrid'], placements: ['unpinned'], iterations: { full: 10, quick: 10 },
  warmup: { full: 1, quick: 1 }, runs: { full: 1, quick: 1 }, baselines: ['net-uds'] });\n`;
    try {
      writeFileSync(join(dir, 'rmp.js'), file('rmp.pingpong'));
      writeFileSync(join(dir, 'rmp-fanout.js'), file('rmp.fanout'));
      writeFileSync(join(dir, 'notes.txt'), 'not a scenario');
      const found = await loadScenarios(dir);
      expect(found.map((s) => s.id).sort()).toEqual(['rmp.fanout', 'rmp.pingpong']);
      expect(buildMatrix(found, parseFlags(['--filter', 'rmp.*', '--quick'])).map((p) => `${p.base.id}:${p.baseline ?? p.mode}`))
        .toEqual(['rmp.fanout:net-uds', 'rmp.fanout:hybrid', 'rmp.pingpong:net-uds', 'rmp.pingpong:hybrid']);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
  it('a scenario file that throws at load names the file', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'shmkit-bench-test-'));
    try {
      writeFileSync(join(dir, 'rmp-broken.js'), "throw new Error('bad scenario');\n");
      await expect(loadScenarios(dir)).rejects.toThrow(/scenario file rmp-broken\.js: bad scenario/);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('flags and matrix', () => {
  it('rejects bad flags', () => {
    expect(() => parseFlags(['--size', '0'])).toThrow(/positive integer/);
    expect(() => parseFlags(['--runs', '0'])).toThrow(/positive integer/);
    expect(() => parseFlags(['--frobnicate'])).toThrow(/unknown flag/);
    expect(parseFlags(['--quick'])).toMatchObject({ quick: true, budgetS: 55, writeDocs: false });
    expect(parseFlags([])).toMatchObject({ quick: false, budgetS: null, writeDocs: true });
  });
  it('globs match scenario ids', () => {
    expect(globToRe('rmp.*').test('rmp.pingpong')).toBe(true);
    expect(globToRe('rmp.*').test('rmpx.pingpong')).toBe(false);
  });
  it('puts baselines first for each size and placement; quick keeps net-uds and unpinned', () => {
    const s = defineScenario(base());
    const full = buildMatrix([s], parseFlags([]));
    expect(full).toHaveLength(2 * 3 * 3);
    expect(full.slice(0, 3).map((p) => p.baseline)).toEqual(['net-uds', 'zeromq', null]);
    const quick = buildMatrix([s], parseFlags(['--quick']));
    expect(quick.map((p) => [p.baseline, p.size, p.placement])).toEqual([['net-uds', 64, 'unpinned'], [null, 64, 'unpinned']]);
    expect(buildMatrix([s], parseFlags(['--filter', 'core.*']))).toHaveLength(0);
  });
  it('a scenario with quick: false is left out of --quick runs only', () => {
    const s = defineScenario(base({ id: 'rmp.slow-variant', quick: false }));
    expect(buildMatrix([s], parseFlags(['--quick']))).toHaveLength(0);
    expect(buildMatrix([s], parseFlags([]))).toHaveLength(2 * 3 * 3);
  });
});

describe('size sweep and shared baselines', () => {
  const sweepy = (o: Partial<Scenario> = {}) => base({
    sizes: { full: [8, 64, 4096, 65536, 1 << 20], quick: [64] }, modes: ['spin', 'hybrid', 'block'],
    baselines: ['net-uds'], sweep: { modes: ['hybrid'], placements: ['cross'] }, ...o,
  });
  const label = (p: { baseline: string | null; size: number; mode: string; placement: string }) => `${p.baseline ?? p.mode}@${p.placement}:${p.size}`;
  it('runs every size only in the sweep pairs, 64 B and 64 KiB elsewhere; baselines every size at the sweep placements', () => {
    const s = defineScenario(sweepy());
    const plans = buildMatrix([s], parseFlags([])).map(label);
    // cross: 5 sizes × (net-uds + hybrid) + spin and block at 64 B and 64 KiB; same and unpinned: 2 sizes × (net-uds + 3 modes).
    expect(plans).toHaveLength(5 * 2 + 2 * 2 + 2 * 2 * 4);
    for (const size of [8, 4096, 1 << 20]) {
      expect(plans.filter((l) => l.endsWith(`:${size}`)).sort()).toEqual([`hybrid@cross:${size}`, `net-uds@cross:${size}`]);
    }
    for (const size of [64, 65536]) expect(plans.filter((l) => l.endsWith(`:${size}`))).toHaveLength(3 * 4);
  });
  it('explicit --size and --quick ignore the sweep; a sweep outside the scenario is a load error', () => {
    const s = defineScenario(sweepy());
    expect(buildMatrix([s], parseFlags(['--size', '8']))).toHaveLength(3 * 4);
    // (quick adds spin only where two CPUs can be pinned)
    expect(buildMatrix([s], parseFlags(['--quick'])).map(label).filter((l) => !l.startsWith('spin'))).toEqual(['net-uds@unpinned:64', 'hybrid@unpinned:64']);
    expect(() => defineScenario(sweepy({ id: 'rmp.bad1', sweep: { placements: [] } }))).toThrow(/sweep\.placements/);
    expect(() => defineScenario(sweepy({ id: 'rmp.bad2', placements: ['cross'], sweep: { placements: ['same'] } }))).toThrow(/sweep\.placements/);
    expect(() => defineScenario(sweepy({ id: 'rmp.bad3', sweep: { modes: ['n/a'], placements: ['cross'] } }))).toThrow(/sweep\.modes/);
    expect(() => defineScenario(sweepy({ id: 'rmp.bad4', sweep: { placements: ['cross'], points: [128] } }))).toThrow(/sweep\.points/);
  });
  it('baseline cells of equal baseline, size, placement and counts share one key; others do not', () => {
    const a = defineScenario(sweepy({ id: 'core.pingpong' }));
    const b = defineScenario(sweepy({ id: 'rmp.pingpong' }));
    const c = defineScenario(sweepy({ id: 'topic.pingpong', iterations: { full: 999, quick: 100 } }));
    const f = parseFlags([]);
    const keys = (s: Scenario) => buildMatrix([s], f).map((p) => baselineKey(p, f)).filter((k) => k !== null);
    expect(keys(a)).toEqual(keys(b));
    expect(keys(a)).toHaveLength(5 + 2 * 2);
    expect(keys(c).some((k) => keys(a).includes(k))).toBe(false);
    const plan = buildMatrix([b], f).find((p) => p.baseline !== null)!;
    expect(baselineKey(buildMatrix([b], f).find((p) => p.baseline === null)!, f)).toBeNull();
    const measured: Cell = { scenario: 'core.pingpong', impl: 'net-uds', baseline: true, pattern: 'pingpong', size: plan.size, mode: 'n/a', placement: plan.placement,
      runs: [{ n: 10, p50Ns: 5, p99Ns: 9, meanNs: 6, minNs: 1, maxNs: 9 }], p50Ns: 5, p99Ns: 9, opsPerSec: null, bytesPerSec: null, ratios: {}, status: 'ok', elapsedMs: 1234 };
    const copy = sharedCell(measured, plan);
    expect(copy).toMatchObject({ scenario: 'rmp.pingpong', impl: 'net-uds', p50Ns: 5, p99Ns: 9, sharedFrom: 'core.pingpong', elapsedMs: 0 });
    expect(copy.runs).toEqual(measured.runs);
    expect(sharedCell(copy, plan).sharedFrom).toBe('core.pingpong');
  });
});

describe('quick-mode budget', () => {
  it('10 cells of 10 s under a 55 s budget: 5 run, 5 are skipped', () => {
    let now = 0;
    const b = new Budget(55_000, () => now);
    const outcome: string[] = [];
    for (let i = 0; i < 10; i++) {
      if (!b.allows('pingpong')) { outcome.push('budget'); continue; }
      now += 10_000; b.record('pingpong', 10_000); outcome.push('ok');
    }
    expect(outcome.filter((o) => o === 'ok')).toHaveLength(5);
    expect(outcome.slice(5)).toEqual(Array(5).fill('budget'));
  });
  it('no budget allows everything', () => { expect(new Budget(null, () => 1e12).allows('x')).toBe(true); });
});
