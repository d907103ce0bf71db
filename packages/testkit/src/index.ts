import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** A real child `node` process running a fixture file, with line-oriented stdout. */
export interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout line that satisfies `match`, or rejects at the deadline. */
  waitLine(match: (line: string) => boolean, deadlineMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();

export function spawnFixture(file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env },
  });
  live.add(proc);
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => { lines.push(l); for (const w of waiters) w(l); });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => { live.delete(proc); resolve(code ?? sig ?? -1); }));
  return {
    proc, exited,
    kill: (signal = 'SIGKILL') => { proc.kill(signal); },
    waitLine(match, deadlineMs = 20_000) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching line from ${file} within ${deadlineMs} ms`)), deadlineMs);
        waiters.push((l) => { if (match(l)) { clearTimeout(t); resolve(l); } });
        void exited.then((c) => { clearTimeout(t); const s = lines.find(match); if (s !== undefined) resolve(s); else reject(new Error(`${file} exited (${c}) without a matching line`)); });
      });
    },
  };
}

/** Kills every child still running (call in afterEach/afterAll). */
export function killAll(): void { for (const p of live) p.kill('SIGKILL'); live.clear(); killPointChildren(); }

/** Polls `cond` until true or the deadline passes (instead of fixed sleeps). */
export async function until(cond: () => boolean, deadlineMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A unique user name for one test, so parallel runs never collide. */
let counter = 0;
export function uniqueName(label: string): string {
  const tag = process.env.SHMKIT_TEST_RUNTAG ?? 'tk000000';
  return `t-${label}-${tag}-${process.pid.toString(36)}-${(counter++).toString(36)}`;
}

/** The /dev/shm/shmkit.* objects whose name contains `marker` (leak check). */
export function leftovers(marker: string): string[] {
  return readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit.') && f.includes(marker));
}
export { spawnChild, killPointChildren, TestTimeoutError, TestChildError } from './points.js';
export type { ChildProtocol, ChildHandle, ChildExit, PointAction, PointHit, PointPlan, SpawnOptions } from './points.js';
import { killPointChildren } from './points.js';
