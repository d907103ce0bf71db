import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScenarioError, clearScenarios, defineScenario, type Scenario } from '../src/api.js';
import { Budget } from '../src/budget.js';
import { buildMatrix, globToRe, loadScenarios, parseFlags } from '../src/run.js';

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
