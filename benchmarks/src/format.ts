// Output formats: summary lines, size labels, the docs block and the SVG chart (§4.3, §4.5, §5.8).
import type { ModeLabel, Pattern, Placement } from './api.js';
import type { RunStats } from './stats.js';

export interface Cell {
  scenario: string; impl: string; baseline: boolean; pattern: Pattern;
  size: number; mode: ModeLabel; placement: Placement;
  runs: RunStats[];
  p50Ns: number | null; p99Ns: number | null;
  opsPerSec: number | null; bytesPerSec: number | null;
  ratios: Record<string, { p50: number; p99: number }>;
  status: 'ok' | 'failed' | 'skipped';
  error?: string; reason?: string;
  /** CPUs the roles were pinned to (null: unpinned), and where the measuring role last ran. */
  cpus?: Record<string, number[] | null>;
  unit?: string;
  elapsedMs?: number;
  /** Baseline cells only: the scenario whose identical baseline cell (same size, placement and counts) of
   *  this run was measured; this cell is a copy of it. */
  sharedFrom?: string;
}
export interface Machine { cpuModel: string; vcpus: number; virtualized: boolean; kernel: string; node: string; koffi: string | null; zeromq: string | null; taskset: boolean }
export interface Results { schemaVersion: 1; startedAt: string; quick: boolean; gitCommit: string | null; machine: Machine; cells: Cell[]; interrupted?: boolean }

const r3 = (x: number) => Number(x.toPrecision(3));
const us = (ns: number | null) => (ns === null ? null : Math.round(ns) / 1000);

export const SUMMARY_PREFIX = 'SHMKIT-BENCH ';
export function summaryLine(c: Cell): string {
  const o: Record<string, unknown> = {
    scenario: c.scenario, impl: c.impl, size: c.size, mode: c.mode, placement: c.placement,
    p50_us: us(c.p50Ns), p99_us: us(c.p99Ns), ops_per_s: c.opsPerSec,
  };
  if (!c.baseline) {
    o.ratio_p50 = Object.fromEntries(Object.entries(c.ratios).map(([k, v]) => [k, v.p50]));
    o.ratio_p99 = Object.fromEntries(Object.entries(c.ratios).map(([k, v]) => [k, v.p99]));
  }
  o.status = c.status;
  if (c.sharedFrom) o.shared_from = c.sharedFrom;
  if (c.reason) o.reason = c.reason;
  if (c.error) o.error = c.error;
  return SUMMARY_PREFIX + JSON.stringify(o);
}

export function sizeLabel(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}
export function usLabel(ns: number | null): string {
  if (ns === null) return '–';
  const v = ns / 1000;
  return v >= 100 ? v.toFixed(0) : String(r3(v));
}
/** One plain progress line (non-TTY stderr). */
export function progressLine(i: number, total: number, c: Cell): string {
  const what = `${c.scenario}${c.baseline ? `[${c.impl}]` : ''}${c.size === 0 && c.pattern !== 'pingpong' ? '' : ` ${sizeLabel(c.size)}`} ${c.mode} ${c.placement}`;
  if (c.status !== 'ok') return `[${i}/${total}] ${what}  ${c.status}${c.reason ? ` (${c.reason})` : ''}${c.error ? `: ${c.error}` : ''}`;
  if (c.opsPerSec !== null) return `[${i}/${total}] ${what}  ${Math.round(c.opsPerSec)} ops/s`;
  if (c.unit === 'ns/op') return `[${i}/${total}] ${what}  p50 ${Number(c.p50Ns!.toPrecision(3))} ns  p99 ${Number(c.p99Ns!.toPrecision(3))} ns`;
  return `[${i}/${total}] ${what}  p50 ${usLabel(c.p50Ns)} µs  p99 ${usLabel(c.p99Ns)} µs${c.sharedFrom ? `  (shared with ${c.sharedFrom})` : ''}`;
}

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';
/** Replaces the marked block of `doc` (appends markers if absent); text outside stays byte for byte. */
export function replaceBlock(doc: string, block: string): string {
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END, b < 0 ? 0 : b);
  const inner = `${BEGIN}\n${block.replace(/\n*$/, '\n')}${END}`;
  if (b < 0 || e < 0) return `${doc}${doc === '' || doc.endsWith('\n') ? '' : '\n'}${inner}\n`;
  return doc.slice(0, b) + inner + doc.slice(e + END.length);
}

// ---- SVG chart (§5.8) ----
export interface Series { label: string; dashed: boolean; points: Array<[number, number]> /* (size B, p50 µs) */ }
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const f2 = (x: number) => x.toFixed(2);
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function svgChart(title: string, series: Series[]): string {
  const W = 880, H = 520, ML = 70, MB = 70, MT = 40, MR = 20;
  const pw = W - ML - MR, ph = H - MT - MB;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter((x) => x > 0);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => y > 0);
  const x0 = Math.min(1, Math.floor(Math.log10(Math.min(...xs, 10)))), x1 = Math.max(6, Math.ceil(Math.log10(Math.max(...xs, 10))));
  const y0 = Math.min(-1, Math.floor(Math.log10(Math.min(...ys, 1)))), y1 = Math.max(3, Math.ceil(Math.log10(Math.max(...ys, 1))));
  const px = (x: number) => ML + ((Math.log10(x) - x0) / (x1 - x0)) * pw;
  const py = (y: number) => MT + ph - ((Math.log10(y) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" font-size="14" text-anchor="middle">${esc(title)}</text>`);
  out.push(`<rect x="${ML}" y="${MT}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (let d = x0; d <= x1; d++) {
    const x = px(10 ** d);
    out.push(`<line x1="${f2(x)}" y1="${MT}" x2="${f2(x)}" y2="${MT + ph}" stroke="#ddd"/><line x1="${f2(x)}" y1="${MT + ph}" x2="${f2(x)}" y2="${MT + ph + 6}" stroke="#333"/>`);
    out.push(`<text x="${f2(x)}" y="${MT + ph + 20}" text-anchor="middle">10<tspan dy="-5" font-size="8">${d}</tspan></text>`);
    if (d < x1) for (const m of [2, 5]) { const xm = px(m * 10 ** d); out.push(`<line x1="${f2(xm)}" y1="${MT + ph}" x2="${f2(xm)}" y2="${MT + ph + 3}" stroke="#333"/>`); }
  }
  for (let d = y0; d <= y1; d++) {
    const y = py(10 ** d);
    out.push(`<line x1="${ML}" y1="${f2(y)}" x2="${ML + pw}" y2="${f2(y)}" stroke="#ddd"/><line x1="${ML - 6}" y1="${f2(y)}" x2="${ML}" y2="${f2(y)}" stroke="#333"/>`);
    out.push(`<text x="${ML - 9}" y="${f2(y + 4)}" text-anchor="end">10<tspan dy="-5" font-size="8">${d}</tspan></text>`);
    if (d < y1) for (const m of [2, 5]) { const ym = py(m * 10 ** d); out.push(`<line x1="${ML - 3}" y1="${f2(ym)}" x2="${ML}" y2="${f2(ym)}" stroke="#333"/>`); }
  }
  out.push(`<text x="${ML + pw / 2}" y="${H - 20}" text-anchor="middle">payload (bytes)</text>`);
  out.push(`<text x="18" y="${MT + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${MT + ph / 2})">RTT (µs)</text>`);
  const legend: string[] = [];
  if (series.length) legend.push(`<rect x="${ML + pw - 198}" y="${MT + 4}" width="194" height="${series.length * 16 + 6}" fill="white" fill-opacity="0.85" stroke="#bbb"/>`);
  series.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    const pts = [...s.points].filter((p) => p[0] > 0 && p[1] > 0).sort((a, b) => a[0] - b[0]);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map((p) => `${f2(px(p[0]))},${f2(py(p[1]))}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${f2(px(p[0]))}" cy="${f2(py(p[1]))}" r="3" fill="${c}"/>`);
    const ly = MT + 16 + i * 16;
    legend.push(`<line x1="${ML + pw - 190}" y1="${ly - 4}" x2="${ML + pw - 164}" y2="${ly - 4}" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${ML + pw - 158}" y="${ly}">${esc(s.label)}</text>`);
  });
  out.push(...legend, '</svg>');
  return out.join('\n') + '\n';
}
/** Chart series of the pingpong cells of one placement: one per (impl, mode), dashed for baselines. */
export function chartSeries(cells: Cell[], placement: Placement): Series[] {
  const map = new Map<string, Series>();
  for (const c of cells) {
    if (c.pattern !== 'pingpong' || c.status !== 'ok' || c.placement !== placement || c.p50Ns === null) continue;
    const label = c.baseline ? c.impl : `${c.scenario} (${c.mode})`;
    let s = map.get(label);
    if (!s) map.set(label, (s = { label, dashed: c.baseline, points: [] }));
    if (!s.points.some((p) => p[0] === c.size)) s.points.push([c.size, c.p50Ns / 1000]);
  }
  return [...map.values()];
}
