// bench:check (§5.10): compares ratios of results/latest.json (or SHMKIT-BENCH lines on stdin with `-`)
// against expectations.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Expectation { scenario: string; size: number; mode: string; placement: string; vs: string; metric: 'p50' | 'p99'; maxRatio: number; quick?: boolean }
interface Line { scenario: string; impl: string; size: number; mode: string; placement: string; status: string; ratio_p50?: Record<string, number>; ratio_p99?: Record<string, number> }

const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const warnOnly = args.includes('--warn-only');
const fromStdin = args.includes('-');

function load(): { quick: boolean; cells: Line[] } {
  if (fromStdin) {
    const lines = readFileSync(0, 'utf8').split('\n').filter((l) => l.startsWith('SHMKIT-BENCH {'));
    return { quick: false, cells: lines.map((l) => JSON.parse(l.slice(13)) as Line) };
  }
  // An explicit results file, else results/latest.json (full), else results/latest-quick.json.
  const explicit = args.find((a) => !a.startsWith('-'));
  const f = explicit ? resolve(explicit) : [join(pkgRoot, 'results', 'latest.json'), join(pkgRoot, 'results', 'latest-quick.json')].find((x) => existsSync(x));
  if (!f || !existsSync(f)) { process.stderr.write('no results: run pnpm bench (or pnpm bench:quick) first\n'); process.exit(2); }
  const r = JSON.parse(readFileSync(f, 'utf8')) as { quick: boolean; cells: Array<{ scenario: string; impl: string; baseline: boolean; size: number; mode: string; placement: string; status: string; ratios: Record<string, { p50: number; p99: number }> }> };
  return { quick: r.quick, cells: r.cells.filter((c) => !c.baseline).map((c) => ({ ...c, ratio_p50: Object.fromEntries(Object.entries(c.ratios).map(([k, v]) => [k, v.p50])), ratio_p99: Object.fromEntries(Object.entries(c.ratios).map(([k, v]) => [k, v.p99])) })) };
}

let exps: Expectation[];
try {
  const f = join(pkgRoot, 'expectations.json');
  exps = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Expectation[]) : [];
  if (!Array.isArray(exps)) throw new Error('not an array');
} catch (e) { process.stderr.write(`expectations.json invalid: ${(e as Error).message}\n`); process.exit(2); }
const res = load();
let failed = 0;
for (const e of exps) {
  const what = `${e.scenario} ${e.size} ${e.mode} ${e.placement} ${e.metric} vs ${e.vs} <= ${e.maxRatio}`;
  if (res.quick && e.quick === false) { console.log(`skip  ${what} (full runs only)`); continue; }
  const c = res.cells.find((x) => x.scenario === e.scenario && x.size === e.size && x.mode === e.mode && x.placement === e.placement && x.impl !== e.vs);
  if (!c || c.status !== 'ok') { console.log(`note  ${what}: no such cell${c ? ` (${c.status})` : ''}`); continue; }
  const r = (e.metric === 'p50' ? c.ratio_p50 : c.ratio_p99)?.[e.vs];
  if (r === undefined) { console.log(`note  ${what}: no ${e.vs} figure`); continue; }
  const ok = r <= e.maxRatio;
  if (!ok) failed++;
  console.log(`${ok ? 'ok   ' : 'FAIL '} ${what}: ${r}`);
}
process.exit(failed && !warnOnly ? 1 : 0);
