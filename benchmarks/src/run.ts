// The benchmark runner: discovers scenario files, runs the matrix with one process per role, writes
// SHMKIT-BENCH lines to stdout, progress to stderr, JSON results, docs/benchmarks.md and SVG charts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WakeHandle } from '@shmkit/shm-core';
import {
  MODES, PLACEMENTS, SWEEP_POINTS, perSize, registeredScenarios, setLoadingFile,
  type BaselineId, type ModeLabel, type Placement, type RoleContext, type Scenario,
} from './api.js';
import { baselineScenario } from './baselines.js';
import { BEGIN, END, chartSeries, progressLine, replaceBlock, summaryLine, svgChart, type Cell, type Machine, type Results } from './format.js';
import { docsBlock, readmeBlock } from './docs.js';
import { cpuOfB, cpuPlacement, placementUnavailable, roleCpus } from './placement.js';
import { median, runStats } from './stats.js';
import { Budget } from './budget.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = resolve(here, '..');
const repoRoot = resolve(pkgRoot, '..');
const SHM_DIR = '/dev/shm/';

// ---------- flags ----------
export interface Flags {
  quick: boolean; filter: string[]; placements: Placement[]; mode: ModeLabel | null; sizes: number[]; runs: number | null;
  budgetS: number | null; iterations: number | null; out: string; writeDocs: boolean; baselines: boolean; list: boolean;
}
const USAGE = `usage: run [--quick] [--filter <glob>]... [--placement same|cross|unpinned]... [--mode spin|hybrid|block]
           [--size <n>]... [--runs <n>] [--iterations <n>] [--budget-s <n>] [--out <dir>] [--write-docs|--no-write-docs] [--no-baselines] [--list]`;
class UsageError extends Error {}
export function parseFlags(argv: string[]): Flags {
  const f: Flags = { quick: false, filter: [], placements: [], mode: null, sizes: [], runs: null, budgetS: null, iterations: null, out: join(pkgRoot, 'results'), writeDocs: true, baselines: true, list: false };
  let docs: boolean | null = null;
  const val = (i: number) => { const v = argv[i + 1]; if (v === undefined) throw new UsageError(`${argv[i]} needs a value`); return v; };
  const posInt = (s: string, what: string) => { const n = Number(s); if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer`); return n; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--quick': f.quick = true; break;
      case '--filter': f.filter.push(val(i)); i++; break;
      case '--placement': { const p = val(i) as Placement; if (!PLACEMENTS.includes(p)) throw new UsageError(`unknown placement ${p}`); f.placements.push(p); i++; break; }
      case '--mode': { const m = val(i) as ModeLabel; if (!MODES.includes(m) || m === 'n/a') throw new UsageError(`unknown mode ${m}`); f.mode = m; i++; break; }
      case '--size': f.sizes.push(posInt(val(i), '--size')); i++; break;
      case '--runs': f.runs = posInt(val(i), '--runs'); i++; break;
      case '--iterations': f.iterations = posInt(val(i), '--iterations'); i++; break;
      case '--budget-s': f.budgetS = posInt(val(i), '--budget-s'); i++; break;
      case '--out': f.out = resolve(val(i)); i++; break;
      case '--write-docs': docs = true; break;
      case '--no-write-docs': docs = false; break;
      case '--no-baselines': f.baselines = false; break;
      case '--list': f.list = true; break;
      default: throw new UsageError(`unknown flag ${a}`);
    }
  }
  f.writeDocs = docs ?? !f.quick;
  if (f.budgetS === null && f.quick) f.budgetS = 55;
  return f;
}
export function globToRe(g: string): RegExp {
  return new RegExp('^' + g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

// ---------- discovery ----------
/** Imports every built scenario file (dist/scenarios/*.js); a file that throws at load is a usage error naming it. */
export async function loadScenarios(dir = join(here, 'scenarios')): Promise<Scenario[]> {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')).sort() : [];
  for (const f of files) {
    setLoadingFile(f);
    try { await import(pathToFileURL(join(dir, f)).href); } catch (e) { throw new UsageError(`scenario file ${f}: ${(e as Error).message}`); } finally { setLoadingFile(undefined); }
  }
  return registeredScenarios();
}

// ---------- matrix ----------
export interface CellPlan { scenario: Scenario; base: Scenario; baseline: BaselineId | null; size: number; mode: ModeLabel; placement: Placement }
export function buildMatrix(all: Scenario[], f: Flags): CellPlan[] {
  const plans: CellPlan[] = [];
  const re = f.filter.map(globToRe);
  const cp = cpuPlacement();
  for (const s of all) {
    if (re.length && !re.some((r) => r.test(s.id))) continue;
    if (f.quick && s.quick === false) continue;
    let sizes = f.quick ? s.sizes.quick : s.sizes.full;
    if (f.sizes.length && s.sizes.full.length > 1) sizes = f.sizes; // fixed-size scenarios keep theirs
    let modes = s.modes;
    if (f.quick) {
      const q = modes.filter((m) => m === 'hybrid' || m === 'n/a' || (m === 'spin' && (s.modes.length === 1 || cp.canCross)));
      modes = q.length ? q : [modes[0]!];
      if (s.modes.includes('spin') && s.modes.length > 1 && !cp.canCross) modes = modes.filter((m) => m !== 'spin');
    }
    if (f.mode) modes = modes.filter((m) => m === f.mode || m === 'n/a');
    let placements = f.quick ? (['unpinned'] as Placement[]) : s.placements;
    if (f.placements.length) placements = s.placements.filter((p) => f.placements.includes(p));
    let bl = f.baselines ? s.baselines : [];
    if (f.quick) bl = bl.filter((b) => b === 'net-uds');
    // The size sweep (Scenario.sweep) applies to full runs that do not name their own sizes.
    const sw = !f.quick && f.sizes.length === 0 ? s.sweep : undefined;
    const points = sw?.points ?? SWEEP_POINTS;
    const swept = (mode: ModeLabel | null, placement: Placement, size: number) =>
      !sw || points.includes(size) || (sw.placements.includes(placement) && (mode === null || (sw.modes ?? s.modes).includes(mode)));
    for (const size of sizes) for (const placement of placements) {
      // Baselines first, so the shmkit cells' summary lines carry their ratios.
      if (swept(null, placement, size)) for (const b of bl) plans.push({ scenario: baselineScenario(b, s), base: s, baseline: b, size, mode: 'n/a', placement });
      for (const mode of modes) if (swept(mode, placement, size)) plans.push({ scenario: s, base: s, baseline: null, size, mode, placement });
    }
  }
  return plans;
}

// ---------- role processes ----------
interface RoleProc { name: string; proc: ChildProcess; exited: Promise<void>; inbox: unknown[]; waiters: Array<() => void>; exitInfo: string | null }
const live = new Set<ChildProcess>();
function spawnRole(s: Scenario, role: string, cpus: number[] | null, fds: number[]): RoleProc {
  const cp = cpuPlacement();
  const node = [process.execPath, join(here, 'role-main.js'), s.id, role];
  const cmd = cpus && cp.taskset ? [cp.taskset, '-c', cpus.join(','), ...node] : node;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const proc = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds], serialization: 'advanced', env });
  live.add(proc);
  const r: RoleProc = { name: role, proc, inbox: [], waiters: [], exitInfo: null, exited: new Promise((res) => proc.once('exit', (code, sig) => { live.delete(proc); r.exitInfo = `exited (${sig ?? code})`; for (const w of r.waiters.splice(0)) w(); res(); })) };
  proc.on('message', (m) => { r.inbox.push(m); for (const w of r.waiters.splice(0)) w(); });
  proc.on('error', () => {});
  return r;
}
class CellError extends Error { constructor(readonly reason: string, message: string) { super(message); } }
async function expect(r: RoleProc, type: string, timeoutMs: number): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const i = r.inbox.findIndex((m: any) => m.type === type || m.type === 'error');
    if (i >= 0) {
      const m = r.inbox.splice(i, 1)[0] as any;
      if (m.type === 'error') throw new CellError('error', `${r.name}: ${m.message}`);
      return m;
    }
    if (r.exitInfo) throw new CellError('crash', `${r.name} ${r.exitInfo}`);
    const left = end - Date.now();
    if (left <= 0) throw new CellError('hang', `${r.name}: no ${type} within ${timeoutMs} ms`);
    await new Promise<void>((res) => { const t = setTimeout(res, left); r.waiters.push(() => { clearTimeout(t); res(); }); });
  }
}

/** Measured operations per run, warm-up operations before each run, and runs of one cell. */
export function cellCounts(plan: CellPlan, f: Flags): { n: number; warmup: number; runs: number } {
  const s = plan.scenario;
  return {
    n: f.iterations ?? perSize(f.quick ? s.iterations.quick : s.iterations.full, plan.size),
    warmup: f.iterations !== null ? Math.ceil(f.iterations / 10) : perSize(f.quick ? s.warmup.quick : s.warmup.full, plan.size),
    runs: f.runs ?? (f.quick ? s.runs.quick : s.runs.full),
  };
}
/** Baseline cells depend only on the baseline, size, placement and counts: scenarios whose baseline cells
 *  agree on all of these share one measurement per run of the suite (the later ones record `sharedFrom`). */
export function baselineKey(plan: CellPlan, f: Flags): string | null {
  if (plan.baseline === null) return null;
  const { n, warmup, runs } = cellCounts(plan, f);
  return `${plan.baseline}|${plan.size}|${plan.placement}|${n}|${warmup}|${runs}`;
}
/** A copy of a measured baseline cell for another scenario of the same run. */
export function sharedCell(from: Cell, plan: CellPlan): Cell {
  return { ...from, scenario: plan.base.id, runs: from.runs.map((r) => ({ ...r })), ratios: {}, sharedFrom: from.sharedFrom ?? from.scenario, elapsedMs: 0 };
}

let cellCounter = 0;
const runId = randomBytes(3).toString('hex');
function leftovers(name: string): string[] {
  try { return readdirSync(SHM_DIR).filter((f) => f.startsWith('shmkit.') && f.includes(name)); } catch { return []; }
}

export async function runCell(plan: CellPlan, f: Flags): Promise<Cell> {
  const s = plan.scenario;
  const cpus = roleCpus(plan.placement, s.roles);
  const cell: Cell = {
    scenario: plan.base.id, impl: plan.baseline ?? s.impl, baseline: plan.baseline !== null, pattern: s.pattern,
    size: plan.size, mode: plan.mode, placement: plan.placement, runs: [], p50Ns: null, p99Ns: null,
    opsPerSec: null, bytesPerSec: null, ratios: {}, status: 'ok', cpus, unit: s.unit ?? (s.pattern === 'micro' ? 'ns/op' : s.pattern === 'wakeup' ? 'µs one-way' : 'µs RTT'),
  };
  const t0 = Date.now();
  const { n, warmup, runs } = cellCounts(plan, f);
  const name = `bench-${runId}-${(cellCounter++).toString(36)}`;
  const efds: WakeHandle[] = [];
  for (let i = 0; i < (s.eventfds ?? 0); i++) efds.push(WakeHandle.eventfd());
  const procs: RoleProc[] = [];
  try {
    for (const rs of s.roles) procs.push(spawnRole(s, rs.name, cpus[rs.name] ?? null, efds.map((e) => e.fd)));
    for (let i = 0; i < procs.length; i++) procs[i]!.proc.send({ type: 'load', entry: s.roles[i]!.entry });
    for (const e of efds.splice(0)) e.close();
    const peers: Record<string, unknown> = {};
    for (let i = 0; i < procs.length; i++) {
      const ctx: RoleContext = { scenario: { ...s, iterations: { full: 0, quick: 0 }, warmup: { full: 0, quick: 0 } }, size: plan.size, mode: plan.mode, placement: plan.placement, role: s.roles[i]!.name, params: s.params ?? {}, peers: { ...peers }, name, fds: Array.from({ length: s.eventfds ?? 0 }, (_, k) => 4 + k), cpuB: cpuOfB(plan.placement), quick: f.quick };
      procs[i]!.proc.send({ type: 'setup', entry: s.roles[i]!.entry, ctx });
      const m = await expect(procs[i]!, 'setup-done', 30_000);
      peers[s.roles[i]!.name] = m.result;
    }
    const measuring = procs[procs.length - 1]!;
    const others = procs.slice(0, -1);
    const p50s: number[] = [], p99s: number[] = [], tputs: number[] = [], bps: number[] = [];
    let estimate = 5_000;
    for (let r = 0; r < runs; r++) {
      const rt = Date.now();
      for (const o of others) o.proc.send({ type: 'run', n, warmup });
      measuring.proc.send({ type: 'run', n, warmup });
      const timeout = Math.max(10_000, estimate * 10);
      const m = await expect(measuring, 'run-done', timeout);
      for (const o of others) await expect(o, 'run-done', 10_000);
      estimate = Date.now() - rt;
      const res = m.result;
      if (res instanceof Float64Array) {
        if ((s.pattern === 'pingpong' || s.pattern === 'wakeup') && res.length < n) throw new CellError('short-result', `${res.length} latencies for ${n} operations`);
        const st = runStats(res);
        cell.runs.push(st); p50s.push(st.p50Ns); p99s.push(st.p99Ns);
      } else if (res && typeof res === 'object' && typeof res.ops === 'number') {
        tputs.push(res.ops / (res.elapsedNs / 1e9)); bps.push(res.bytes / (res.elapsedNs / 1e9));
      } else throw new CellError('short-result', 'measuring role returned no result');
    }
    if (p50s.length) { cell.p50Ns = median(p50s); cell.p99Ns = median(p99s); }
    if (tputs.length) { cell.opsPerSec = median(tputs); cell.bytesPerSec = median(bps); }
    for (const p of procs) p.proc.send({ type: 'teardown' });
    for (const p of procs) await expect(p, 'teardown-done', 10_000);
  } catch (e) {
    cell.status = 'failed';
    cell.reason = e instanceof CellError ? e.reason : 'error';
    cell.error = (e as Error).message;
  } finally {
    for (const e of efds) e.close();
    for (const p of procs) {
      const t = setTimeout(() => p.proc.kill('SIGKILL'), cell.status === 'ok' ? 10_000 : 0);
      await p.exited; clearTimeout(t);
    }
    const left = leftovers(name);
    if (left.length) {
      for (const l of left) rmSync(SHM_DIR + l, { force: true });
      if (cell.status === 'ok') { cell.status = 'failed'; cell.reason = 'leak'; cell.error = `left behind: ${left.join(', ')}`; }
    }
  }
  cell.elapsedMs = Date.now() - t0;
  return cell;
}

// ---------- machine ----------
function machine(zeromq: string | null): Machine {
  let koffi: string | null = null;
  try {
    // koffi is shm-core's dependency: resolve it from there and walk up to its package.json.
    const fromCore = createRequire(createRequire(import.meta.url).resolve('@shmkit/shm-core'));
    for (let d = dirname(fromCore.resolve('koffi')); d !== dirname(d); d = dirname(d)) {
      const pj = join(d, 'package.json');
      if (existsSync(pj)) { const j = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string }; if (j.name === 'koffi') { koffi = j.version ?? null; break; } }
    }
  } catch { koffi = null; }
  let virtualized = false;
  try { virtualized = /^flags\s*:.*\bhypervisor\b/m.test(readFileSync('/proc/cpuinfo', 'utf8')); } catch { /* not Linux x86 */ }
  return { cpuModel: os.cpus()[0]?.model ?? 'unknown', vcpus: os.availableParallelism(), virtualized, kernel: os.release(), node: process.versions.node, koffi, zeromq, taskset: cpuPlacement().taskset !== null };
}
async function zeromqVersion(): Promise<string | null> {
  try {
    const req = createRequire(import.meta.url);
    const z = (await import('zeromq')) as { Pair?: unknown };
    if (typeof z.Pair !== 'function') return null;
    return (JSON.parse(readFileSync(join(dirname(req.resolve('zeromq')), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch { return null; }
}
function gitCommit(): string | null {
  try { return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null; } catch { return null; }
}
function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

// ---------- outputs ----------
export function computeRatios(cells: Cell[]): void {
  for (const c of cells) {
    if (c.baseline || c.status !== 'ok' || c.p50Ns === null || c.p99Ns === null) continue;
    for (const b of cells) {
      if (!b.baseline || b.scenario !== c.scenario || b.size !== c.size || b.placement !== c.placement || b.status !== 'ok' || !b.p50Ns || !b.p99Ns) continue;
      c.ratios[b.impl] = { p50: Number((c.p50Ns / b.p50Ns).toPrecision(3)), p99: Number((c.p99Ns / b.p99Ns).toPrecision(3)) };
    }
  }
}
function writeOutputs(res: Results, f: Flags, scenarios: Scenario[]): string {
  mkdirSync(f.out, { recursive: true });
  const file = join(f.out, `${stamp(new Date(res.startedAt))}-${res.quick ? 'quick' : 'full'}.json`);
  writeFileSync(file, JSON.stringify(res, null, 2) + '\n');
  copyFileSync(file, join(f.out, res.quick ? 'latest-quick.json' : 'latest.json'));
  if (f.writeDocs) {
    const docs = join(repoRoot, 'docs');
    mkdirSync(docs, { recursive: true });
    const md = join(docs, 'benchmarks.md');
    // One chart per placement that has measured pingpong cells (same and cross on a full run with taskset).
    const charts = (['same', 'cross', 'unpinned'] as Placement[]).filter((p) => res.cells.some((c) => c.placement === p && c.pattern === 'pingpong' && c.status === 'ok'));
    for (const p of charts) writeFileSync(join(docs, `benchmarks-latency-${p}.svg`), svgChart(`RTT p50 vs payload size (${p})`, chartSeries(res.cells, p)));
    const old = existsSync(md) ? readFileSync(md, 'utf8') : '# shmkit benchmarks\n\n';
    writeFileSync(md, replaceBlock(old, docsBlock(res, scenarios, charts)));
    // The root README's benchmark table: only where it has the markers, on the cross placement when measured.
    const readme = join(repoRoot, 'README.md');
    const text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
    if (text.includes(BEGIN) && text.includes(END)) {
      const p = charts.includes('cross') ? 'cross' : charts[0] ?? 'unpinned';
      writeFileSync(readme, replaceBlock(text, readmeBlock(res, p, charts.includes(p))));
    }
  }
  return file;
}

// ---------- progress ----------
interface Progress { start(total: number): void; cellStarted(label: string): void; cellDone(i: number, c: Cell): void; stop(): void }
async function makeProgress(): Promise<Progress> {
  if (process.stderr.isTTY) {
    try {
      const cp = (await import('cli-progress')).default;
      const bar = new cp.SingleBar({ format: '{bar} {value}/{total} | {cell} | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 }, cp.Presets.shades_classic);
      let total = 0;
      return { start: (t) => { total = t; bar.start(t, 0, { cell: '' }); }, cellStarted: (l) => bar.update({ cell: l }), cellDone: (i) => bar.update(Math.min(i, total)), stop: () => bar.stop() };
    } catch { /* fall through to plain lines */ }
  }
  let total = 0;
  return { start: (t) => { total = t; }, cellStarted: () => {}, cellDone: (i, c) => process.stderr.write(progressLine(i, total, c) + '\n'), stop: () => {} };
}

// ---------- main ----------
async function main(): Promise<number> {
  let f: Flags;
  let scenarios: Scenario[];
  try { f = parseFlags(process.argv.slice(2)); scenarios = await loadScenarios(); } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`${e.message}\n${USAGE}\n`); return 2; }
    throw e;
  }
  const zmq = await zeromqVersion();
  const plans = buildMatrix(scenarios, f);
  if (plans.length === 0) { process.stderr.write('no scenario matches\n'); return 2; }
  if (f.list) {
    const seen = new Map<string, string>();
    let shared = 0;
    for (const p of plans) {
      const key = baselineKey(p, f), from = key === null ? undefined : seen.get(key);
      if (from !== undefined) shared++; else if (key !== null) seen.set(key, p.base.id);
      process.stderr.write(`${p.base.id}${p.baseline ? `[${p.baseline}]` : ''} ${p.size} ${p.mode} ${p.placement}${from !== undefined ? ` (shared with ${from})` : ''}\n`);
    }
    process.stderr.write(`${plans.length} cells (${plans.length - shared} measured, ${shared} baseline cells shared)\n`);
    return 0;
  }
  const res: Results = { schemaVersion: 1, startedAt: new Date().toISOString(), quick: f.quick, gitCommit: gitCommit(), machine: machine(zmq), cells: [] };
  let interrupted = false;
  process.once('SIGINT', () => { interrupted = true; for (const c of live) c.kill('SIGKILL'); });
  const budget = new Budget(f.budgetS === null ? null : f.budgetS * 1000, () => Date.now());
  const measured = new Map<string, Cell>();
  const progress = await makeProgress();
  progress.start(plans.length);
  for (let i = 0; i < plans.length; i++) {
    const p = plans[i]!;
    const skip = (reason: string): Cell => ({ scenario: p.base.id, impl: p.baseline ?? p.scenario.impl, baseline: p.baseline !== null, pattern: p.scenario.pattern, size: p.size, mode: p.mode, placement: p.placement, runs: [], p50Ns: null, p99Ns: null, opsPerSec: null, bytesPerSec: null, ratios: {}, status: 'skipped', reason });
    const key = `${p.scenario.pattern}:${p.baseline ?? p.scenario.impl}`;
    const bkey = baselineKey(p, f);
    let cell: Cell;
    const na = placementUnavailable(p.placement);
    if (interrupted) break;
    if (na) cell = skip(na);
    else if (p.mode === 'spin' && p.placement === 'same') cell = skip('spin-on-one-cpu');
    else if (p.baseline === 'zeromq' && zmq === null) cell = skip('zeromq-unavailable');
    else if (p.baseline === null && p.scenario.unavailable?.()) cell = skip(p.scenario.unavailable()!);
    else if (bkey !== null && measured.has(bkey)) cell = sharedCell(measured.get(bkey)!, p);
    else if (!budget.allows(key)) cell = skip('budget');
    else {
      progress.cellStarted(`${p.base.id}${p.baseline ? `[${p.baseline}]` : ''} ${p.size} ${p.mode} ${p.placement}`);
      const started = Date.now();
      cell = await runCell(p, f);
      budget.record(key, Date.now() - started);
      if (bkey !== null && cell.status === 'ok') measured.set(bkey, cell);
    }
    if (interrupted && cell.status === 'failed') break;
    res.cells.push(cell);
    computeRatios(res.cells);
    process.stdout.write(summaryLine(cell) + '\n');
    progress.cellDone(i + 1, cell);
  }
  progress.stop();
  if (interrupted) res.interrupted = true;
  const file = writeOutputs(res, f, scenarios);
  const count = (s: string) => res.cells.filter((c) => c.status === s).length;
  process.stdout.write(`SHMKIT-BENCH-DONE ${JSON.stringify({ cells: res.cells.length, ok: count('ok'), failed: count('failed'), skipped: count('skipped'), json: file.startsWith(repoRoot + '/') ? relative(repoRoot, file) : file })}\n`);
  if (interrupted) return 130;
  return count('failed') ? 1 : 0;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main().then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`${(e as Error).stack ?? e}\n`); for (const c of live) c.kill('SIGKILL'); process.exitCode = 1; });
}
