// Scenario and role definitions shared by the runner, the role processes and the scenario files.
export type Placement = 'same' | 'cross' | 'unpinned';
export type Pattern = 'pingpong' | 'throughput' | 'fanout' | 'wakeup' | 'micro';
export type BaselineId = 'net-uds' | 'net-tcp' | 'cp-ipc' | 'zeromq';
export type ModeLabel = 'spin' | 'hybrid' | 'block' | 'n/a';
export type PerSize = number | ((size: number) => number);

export const PLACEMENTS: readonly Placement[] = ['same', 'cross', 'unpinned'];
export const PATTERNS: readonly Pattern[] = ['pingpong', 'throughput', 'fanout', 'wakeup', 'micro'];
export const BASELINES: readonly BaselineId[] = ['net-uds', 'net-tcp', 'cp-ipc', 'zeromq'];
export const MODES: readonly ModeLabel[] = ['spin', 'hybrid', 'block', 'n/a'];
export const SCENARIO_ID_RE = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;

export interface RoleSpec { name: string; entry: string /* module under src/roles/, built to dist/roles/ */; cpu: 'A' | 'B' | 'any' }
export interface ReferenceFigure { system: string; value: string; machine: string; method: string }

export interface Scenario {
  id: string;
  title: string;
  package: string;
  impl: string;
  pattern: Pattern;
  roles: RoleSpec[];
  sizes: { full: number[]; quick: number[] };
  modes: ModeLabel[];
  placements: Placement[];
  iterations: { full: PerSize; quick: PerSize };
  warmup: { full: PerSize; quick: PerSize };
  runs: { full: number; quick: number };
  baselines: BaselineId[];
  params?: Record<string, unknown>;
  reference?: ReferenceFigure[];
  /** Unit of the figures in tables: RTT for pingpong, one-way wake-up for wakeup, per operation for micro. */
  unit?: string;
  /** Eventfds the runner creates per cell and passes to every role at fds 4, 5, ... (`ctx.fds`). */
  eventfds?: number;
  /** false: left out of quick runs (full runs only). Default true. */
  quick?: boolean;
  /** Checked once per cell before it runs: a reason string skips the cell (e.g. a tool the machine lacks). */
  unavailable?: () => string | null;
  /** Other scenarios shown as extra columns of this scenario's docs table (same size and placement,
   *  same mode when there is one), with the ratio `label` = ours / theirs (p50, or msgs/s for
   *  throughput cells), inverted when `invert`. */
  compare?: Array<{ scenario: string; label: string; invert?: boolean }>;
  /** Pingpong matrices: the (mode, placement) pairs with a mode of `modes` (default: every mode of the
   *  scenario) and a placement of `placements` run every size of `sizes.full`; every other pair runs only
   *  the `points` sizes (default 64 B and 64 KiB, the reference points of testkit-and-benchmarks.md §9.1).
   *  Baseline cells run every size at the sweep placements and the points elsewhere. Full runs without
   *  `--size` only; absent: every pair runs every size. */
  sweep?: { modes?: ModeLabel[]; placements: Placement[]; points?: number[] };
}
/** Sizes of the cells off the size sweep (Scenario.sweep). */
export const SWEEP_POINTS: readonly number[] = [64, 65536];

export interface RoleContext {
  scenario: Scenario; size: number; mode: ModeLabel; placement: Placement; role: string;
  params: Record<string, unknown>;
  peers: Record<string, unknown>;
  name: string;
  /** fds inherited from the runner (eventfds of `Scenario.eventfds`), in order. */
  fds: number[];
  /** CPU list of role B under this placement (a role that starts its own peer pins it there), or null. */
  cpuB: number[] | null;
  quick: boolean;
}
export type RunResult = Float64Array | { ops: number; bytes: number; elapsedNs: number } | void;
export interface Role {
  setup(ctx: RoleContext): Promise<Record<string, unknown> | void>;
  run(n: number, warmup: number): Promise<RunResult>;
  teardown(): Promise<void>;
}

export class ScenarioError extends Error {}

const scenarios = new Map<string, Scenario>();
let loadingFile: string | undefined;
/** Set by the loader so that errors and duplicates name the file that defined them. */
export function setLoadingFile(f: string | undefined): void { loadingFile = f; }
const files = new Map<string, string | undefined>();

function checkPerSize(v: unknown, what: string): void {
  if (typeof v === 'function') return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ScenarioError(`${what} must be a non-negative integer or a function of size`);
}

export function validateScenario(s: Scenario): void {
  const where = (m: string) => new ScenarioError(`scenario ${JSON.stringify(s?.id)}: ${m}`);
  if (!s || typeof s !== 'object') throw new ScenarioError('scenario must be an object');
  if (typeof s.id !== 'string' || !SCENARIO_ID_RE.test(s.id)) throw where('invalid id (must match /^[a-z0-9-]+(\\.[a-z0-9-]+)+$/)');
  if (!PATTERNS.includes(s.pattern)) throw where(`unknown pattern ${String(s.pattern)}`);
  if (!Array.isArray(s.roles) || s.roles.length === 0) throw where('no roles');
  const names = new Set<string>();
  for (const r of s.roles) {
    if (!r || typeof r.name !== 'string' || !/^[a-z0-9-]+$/.test(r.name) || names.has(r.name)) throw where(`invalid or duplicate role name ${JSON.stringify(r?.name)}`);
    if (typeof r.entry !== 'string' || !/^[a-z0-9-]+$/.test(r.entry)) throw where(`role ${r.name}: invalid entry ${JSON.stringify(r.entry)}`);
    if (!['A', 'B', 'any'].includes(r.cpu)) throw where(`role ${r.name}: cpu must be A, B or any`);
    names.add(r.name);
  }
  if (s.pattern === 'micro' && s.roles.length !== 1) throw where("pattern 'micro' has exactly one role");
  for (const k of ['full', 'quick'] as const) {
    const sz = s.sizes?.[k];
    if (!Array.isArray(sz) || sz.length === 0) throw where(`empty sizes.${k}`);
    for (const n of sz) if (!Number.isInteger(n) || n < 0) throw where(`invalid size ${n}`);
    checkPerSize(s.iterations?.[k], `iterations.${k}`);
    checkPerSize(s.warmup?.[k], `warmup.${k}`);
    if (!Number.isInteger(s.runs?.[k]) || s.runs[k] < 1) throw where(`runs.${k} must be >= 1`);
  }
  if (!Array.isArray(s.modes) || s.modes.length === 0 || s.modes.some((m) => !MODES.includes(m))) throw where('invalid modes');
  if (!Array.isArray(s.placements) || s.placements.length === 0 || s.placements.some((p) => !PLACEMENTS.includes(p))) throw where('invalid placements');
  if (!Array.isArray(s.baselines)) throw where('baselines must be an array');
  for (const b of s.baselines) if (!BASELINES.includes(b)) throw where(`unknown baseline ${JSON.stringify(b)}`);
  if (s.baselines.length > 0 && s.pattern !== 'pingpong') throw where('baselines are implemented for pattern pingpong only');
  if (s.sweep !== undefined) {
    const w = s.sweep;
    if (!w || typeof w !== 'object' || !Array.isArray(w.placements) || w.placements.length === 0 || w.placements.some((p) => !s.placements.includes(p))) throw where('sweep.placements must be a non-empty subset of placements');
    if (w.modes !== undefined && (!Array.isArray(w.modes) || w.modes.length === 0 || w.modes.some((m) => !s.modes.includes(m)))) throw where('sweep.modes must be a non-empty subset of modes');
    const pts = w.points ?? SWEEP_POINTS;
    if (!Array.isArray(pts) || pts.length === 0 || pts.some((n) => !s.sizes.full.includes(n))) throw where('sweep.points must be a non-empty subset of sizes.full');
  }
  if (typeof s.title !== 'string' || typeof s.package !== 'string' || typeof s.impl !== 'string') throw where('title, package and impl are strings');
}

/** Validates and registers a scenario (throws ScenarioError on invalid or duplicate ids). */
export function defineScenario(s: Scenario): Scenario {
  validateScenario(s);
  if (scenarios.has(s.id)) throw new ScenarioError(`duplicate scenario id ${s.id} (first defined in ${files.get(s.id) ?? '?'})`);
  scenarios.set(s.id, s);
  files.set(s.id, loadingFile);
  return s;
}
export function registeredScenarios(): Scenario[] { return [...scenarios.values()]; }
/** For tests only. */
export function clearScenarios(): void { scenarios.clear(); files.clear(); }

export function perSize(v: PerSize, size: number): number { return typeof v === 'function' ? v(size) : v; }

let definedRole: Role | undefined;
/** Called at the top level of a role module. */
export function defineRole(role: Role): void { definedRole = role; }
export function takeDefinedRole(): Role | undefined { const r = definedRole; definedRole = undefined; return r; }
