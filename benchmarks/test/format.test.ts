import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, chartSeries, replaceBlock, sizeLabel, summaryLine, svgChart, type Cell } from '../src/format.js';

const cell = (o: Partial<Cell>): Cell => ({
  scenario: 'core.pingpong', impl: 'shm-core', baseline: false, pattern: 'pingpong', size: 64, mode: 'hybrid', placement: 'same',
  runs: [], p50Ns: 8100, p99Ns: 15000, opsPerSec: null, bytesPerSec: null, ratios: {}, status: 'ok', ...o,
});

describe('summary line', () => {
  it('has the exact format and parses back', () => {
    const line = summaryLine(cell({ ratios: { 'net-uds': { p50: 0.75, p99: 0.6 } } }));
    expect(line).toBe('SHMKIT-BENCH {"scenario":"core.pingpong","impl":"shm-core","size":64,"mode":"hybrid","placement":"same","p50_us":8.1,"p99_us":15,"ops_per_s":null,"ratio_p50":{"net-uds":0.75},"ratio_p99":{"net-uds":0.6},"status":"ok"}');
    const o = JSON.parse(line.slice(13));
    expect(o.ratio_p50['net-uds']).toBe(0.75);
  });
  it('baseline lines carry no ratios; skipped lines carry the reason', () => {
    const o = JSON.parse(summaryLine(cell({ impl: 'net-uds', baseline: true, mode: 'n/a' })).slice(13));
    expect(o.impl).toBe('net-uds');
    expect('ratio_p50' in o).toBe(false);
    const s = JSON.parse(summaryLine(cell({ status: 'skipped', reason: 'budget', p50Ns: null, p99Ns: null })).slice(13));
    expect(s).toMatchObject({ status: 'skipped', reason: 'budget', p50_us: null });
  });
  it('size labels', () => {
    expect([8, 64, 1000, 4096, 65536, 1 << 20, 4 << 20].map(sizeLabel)).toEqual(['8 B', '64 B', '1000 B', '4 KiB', '64 KiB', '1 MiB', '4 MiB']);
  });
});

describe('markdown block', () => {
  const doc = `# Title\n\nhand text  \n${BEGIN}\nold\n${END}\ntrailing text\n\n`;
  it('replaces only the marked block and keeps the rest byte for byte', () => {
    const out = replaceBlock(doc, 'new table');
    expect(out).toBe(`# Title\n\nhand text  \n${BEGIN}\nnew table\n${END}\ntrailing text\n\n`);
  });
  it('is idempotent', () => {
    const once = replaceBlock(doc, 'x\n\n');
    expect(replaceBlock(once, 'x\n\n')).toBe(once);
  });
  it('appends the markers when absent', () => {
    expect(replaceBlock('# T\n', 'b')).toBe(`# T\n${BEGIN}\nb\n${END}\n`);
  });
});

describe('SVG chart', () => {
  const cells = [
    cell({ size: 64, p50Ns: 3_000 }), cell({ size: 65536, p50Ns: 25_000 }),
    cell({ impl: 'net-uds', baseline: true, mode: 'n/a', size: 64, p50Ns: 10_800 }), cell({ impl: 'net-uds', baseline: true, mode: 'n/a', size: 65536, p50Ns: 50_100 }),
    cell({ placement: 'cross', size: 64 }), cell({ status: 'failed', size: 4096 }),
  ];
  it('matches the golden file and is deterministic', () => {
    const svg = svgChart('RTT p50 vs payload size (same)', chartSeries(cells, 'same'));
    expect(svgChart('RTT p50 vs payload size (same)', chartSeries(cells, 'same'))).toBe(svg);
    expect(svg).toBe(readFileSync(new URL('./golden/chart-same.svg', import.meta.url), 'utf8'));
  });
  it('one series per (impl, mode), baselines dashed, only ok cells of the placement', () => {
    const s = chartSeries(cells, 'same');
    expect(s.map((x) => [x.label, x.dashed, x.points.length])).toEqual([['core.pingpong (hybrid)', false, 2], ['net-uds', true, 2]]);
  });
  it('log scale: 10, 100 and 1000 are equidistant', () => {
    const svg = svgChart('t', [{ label: 'a', dashed: false, points: [[10, 1], [100, 1], [1000, 1]] }]);
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs).toHaveLength(3);
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 1);
    expect(xs[1]! - xs[0]!).toBeGreaterThan(50);
  });
});
