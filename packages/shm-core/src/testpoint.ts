// Named test points (shm-core.md §3.15): crash-interesting places in library code where a test can
// kill, pause or observe a child process. Disabled, a point costs one boolean check.
import { readSync, writeSync } from 'node:fs';
import { ShmkitError } from './errors.js';

/** True iff process.env.SHMKIT_TEST_POINTS === '1' when shm-core was loaded. */
export const TEST_POINTS_ENABLED: boolean = process.env['SHMKIT_TEST_POINTS'] === '1';

type PointAction = 'kill' | 'pause' | 'notify';
interface PlanEntry { name: string; hit: number; action: PointAction }

const hits = new Map<string, number>();
let handler: ((name: string, hit: number) => void) | null = null;
let plan: PlanEntry[] | undefined;
let fds: { points: number; resume: number } | undefined;

/** Exit code of a child whose parent died while it was held at a point (testkit-and-benchmarks.md §5.2). */
const EXIT_PARENT_GONE = 72;

function loadPlan(): PlanEntry[] {
  if (plan) return plan;
  plan = [];
  const raw = process.env['SHMKIT_TEST_POINT_PLAN'];
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) {
        for (const e of parsed as Array<Record<string, unknown>>) {
          if (e === null || typeof e !== 'object' || typeof e['name'] !== 'string') continue;
          const action = e['action'];
          if (action !== 'kill' && action !== 'pause' && action !== 'notify') continue;
          const hit = e['hit'] === undefined ? 1 : Number(e['hit']);
          if (Number.isInteger(hit) && hit >= 1) plan.push({ name: e['name'], hit, action });
        }
      }
    } catch { /* a malformed plan plans nothing */ }
  }
  const rawFds = process.env['SHMKIT_TESTKIT_FDS'];
  if (rawFds) {
    try {
      const f = JSON.parse(rawFds) as { points?: unknown; resume?: unknown };
      if (Number.isInteger(f.points) && Number.isInteger(f.resume)) fds = { points: f.points as number, resume: f.resume as number };
    } catch { /* no channel: points are counted only */ }
  }
  return plan;
}

let parkCell: Int32Array | undefined;
/** Blocks the thread reading the resume fd: `untilByte` returns after one byte, otherwise only
 *  SIGKILL ends the wait. EOF (the parent is gone) exits the process with code 72. */
function block(resumeFd: number, untilByte: boolean): void {
  const buf = Buffer.alloc(1);
  parkCell ??= new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try { n = readSync(resumeFd, buf, 0, 1, null); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') { Atomics.wait(parkCell, 0, 0, 1); continue; }
      process.exit(EXIT_PARENT_GONE);
    }
    if (n === 0) process.exit(EXIT_PARENT_GONE);
    if (untilByte) return;
  }
}

function reached(name: string, hit: number): void {
  if (handler) { handler(name, hit); return; }
  const entry = loadPlan().find((e) => e.name === name && e.hit === hit);
  if (!entry || !fds) return;
  writeSync(fds.points, `P ${hit} ${name}\n`);
  if (entry.action === 'notify') return;
  block(fds.resume, entry.action === 'pause');
}

/** Protocol code calls this at crash-interesting places; when disabled it costs one boolean check. */
export function testPoint(name: string): void {
  if (!TEST_POINTS_ENABLED) return;
  const hit = (hits.get(name) ?? 0) + 1;
  hits.set(name, hit);
  reached(name, hit);
}

/** In-process override for unit tests (e.g. throw at a point); refused (ERR_INVALID_ARGUMENT) unless enabled. */
export function setTestPointHandler(fn: ((name: string, hit: number) => void) | null): void {
  if (!TEST_POINTS_ENABLED) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', 'setTestPointHandler: test points are disabled (set SHMKIT_TEST_POINTS=1 before loading shm-core)');
  }
  if (fn !== null && typeof fn !== 'function') throw new ShmkitError('ERR_INVALID_ARGUMENT', 'setTestPointHandler: handler must be a function or null');
  handler = fn;
}
