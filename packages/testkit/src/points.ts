// Parent side of typed fixture children with named test points (testkit-and-benchmarks.md §3.1, §4.1,
// §5.2): the child reports `P <hit> <name>` on fd 4 when it reaches a planned point and, for 'kill',
// stays frozen there until this side SIGKILLs it; 'pause' waits for one byte on fd 5 (resume()).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';

/** Message types exchanged with a fixture; both unions are discriminated by `type`. */
export interface ChildProtocol { toChild: { type: string }; fromChild: { type: string } }
export type PointAction = 'kill' | 'pause' | 'notify';
export interface PointPlan { name: string; hit?: number; action: PointAction }
export interface ChildExit { code: number | null; signal: NodeJS.Signals | null }
export interface PointHit { name: string; hit: number; action: PointAction }

export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  /** Test points to act on (enables SHMKIT_TEST_POINTS in the child). */
  points?: PointPlan[];
  /** fds shared with the child (they appear at fd 6, 7, ...). */
  passFds?: number[];
  /** Default 30_000: the child is SIGKILLed and pending calls reject. */
  timeoutMs?: number;
  label?: string;
}

export class TestTimeoutError extends Error {
  override readonly name = 'TestTimeoutError';
  readonly label: string;
  readonly lastValue: unknown;
  constructor(label: string, lastValue?: unknown, message?: string) {
    super(message ?? `${label}: not reached in time`);
    this.label = label; this.lastValue = lastValue;
  }
}
export class TestChildError extends Error {
  override readonly name = 'TestChildError';
  readonly exit: ChildExit;
  readonly stderrTail: string;
  constructor(message: string, exit: ChildExit, stderrTail: string) {
    super(`${message}${stderrTail ? `\n--- stderr tail ---\n${stderrTail}` : ''}`);
    this.exit = exit; this.stderrTail = stderrTail;
  }
}

type Msg<P extends ChildProtocol, T extends P['fromChild']['type']> = Extract<P['fromChild'], { type: T }>;

export interface ChildHandle<P extends ChildProtocol = ChildProtocol> extends AsyncDisposable {
  readonly pid: number;
  readonly label: string;
  /** Resolves when the child called child.ready() (or sent its first message). */
  readonly ready: Promise<void>;
  send(msg: P['toChild']): void;
  next<T extends P['fromChild']['type']>(type: T, opts?: { timeoutMs?: number }): Promise<Msg<P, T>>;
  request<T extends P['fromChild']['type']>(msg: P['toChild'], replyType: T, opts?: { timeoutMs?: number }): Promise<Msg<P, T>>;
  /** Resolves when the child reached a planned point (any action). */
  atPoint(name: string, opts?: { timeoutMs?: number }): Promise<PointHit>;
  /** Resolves after a 'kill' point was reached and the child was SIGKILLed and reaped. */
  readonly killed: Promise<PointHit & ChildExit>;
  /** Lets a child paused at a 'pause' point continue. */
  resume(): void;
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /** Resolves with the exit; rejects TestChildError unless it was expected ('success' by default). */
  exited(opts?: { expect?: 'success' | 'any' | NodeJS.Signals; timeoutMs?: number }): Promise<ChildExit>;
  readonly output: { stdout(): string; stderr(): string };
}

const live = new Set<ChildProcess>();
/** SIGKILLs every child spawned by spawnChild that is still running. */
export function killPointChildren(): void { for (const p of live) p.kill('SIGKILL'); live.clear(); }

const POINT_LINE = /^P (\d+) (\S+)$/;
const TAIL = 16_384;
const FD_POINTS = 4, FD_RESUME = 5, FD_PASSED = 6;

function validatePlan(points: PointPlan[]): void {
  for (const p of points) {
    if (typeof p?.name !== 'string' || p.name.length === 0 || /\s/.test(p.name)) throw new TypeError(`test point needs a non-empty name without spaces, got ${JSON.stringify(p?.name)}`);
    if (p.hit !== undefined && (!Number.isInteger(p.hit) || p.hit < 1)) throw new TypeError(`test point ${p.name}: hit must be an integer ≥ 1, got ${String(p.hit)}`);
    if (p.action !== 'kill' && p.action !== 'pause' && p.action !== 'notify') throw new TypeError(`test point ${p.name}: unknown action ${String(p.action)}`);
  }
}

/** Spawns a real `node` child running a fixture file (TypeScript through tsx) with an IPC channel
 *  (advanced serialization) and the test-point channels of §4.1. */
export async function spawnChild<P extends ChildProtocol = ChildProtocol>(fixture: string | URL, opts: SpawnOptions = {}): Promise<ChildHandle<P>> {
  const file = fixture instanceof URL || fixture.startsWith('file:') ? fileURLToPath(fixture) : fixture;
  if (!existsSync(file)) throw new Error(`fixture not found: ${file}`);
  const points = opts.points ?? [];
  validatePlan(points);
  const label = opts.label ?? basename(file).replace(/\.[cm]?[jt]s$/, '');
  const passFds = opts.passFds ?? [];
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')) env[k] = v;
  delete env['SHMKIT_TEST_POINTS']; delete env['SHMKIT_TEST_POINT_PLAN'];
  if (points.length > 0) {
    env['SHMKIT_TEST_POINTS'] = '1';
    env['SHMKIT_TEST_POINT_PLAN'] = JSON.stringify(points.map((p) => ({ name: p.name, hit: p.hit ?? 1, action: p.action })));
  }
  env['SHMKIT_TESTKIT_FDS'] = JSON.stringify({ points: FD_POINTS, resume: FD_RESUME, passed: passFds.map((_, i) => FD_PASSED + i) });
  for (const [k, v] of Object.entries(opts.env ?? {})) { if (v === undefined) delete env[k]; else env[k] = v; }

  const proc = spawn(process.execPath, [...(opts.execArgv ?? []), '--import', 'tsx', file, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc', 'pipe', 'pipe', ...passFds], env, serialization: 'advanced',
  });
  live.add(proc);
  let stdout = '', stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout = (stdout + d).slice(-TAIL); });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-TAIL); });

  let exit: ChildExit | undefined;
  let childError: string | undefined;
  const exitListeners: Array<(e: ChildExit) => void> = [];
  const exitedP = new Promise<ChildExit>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc); exit = { code, signal }; clearTimeout(lifeTimer); resolve(exit);
      for (const l of exitListeners.splice(0)) l(exit);
    });
  });
  const onExit = (l: (e: ChildExit) => void) => { if (exit) l(exit); else exitListeners.push(l); };
  const crash = (what: string, e: ChildExit) => new TestChildError(
    `child ${label} (${proc.pid}) exited (code ${e.code}, signal ${e.signal}) ${what}${childError ? `: ${childError}` : ''}`, e, stderr.slice(-4096));
  let timedOut = false;
  const lifeTimeout = opts.timeoutMs ?? 30_000;
  const lifeTimer = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, lifeTimeout);
  lifeTimer.unref();

  // Messages from the child.
  const queue: Array<P['fromChild']> = [];
  const waiters: Array<{ type: string; resolve(m: P['fromChild']): void }> = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    onExit((e) => reject(crash('before ready', e)));
  });
  ready.catch(() => {});
  proc.on('message', (raw: unknown) => {
    const m = raw as { type?: unknown; message?: unknown; stack?: unknown };
    if (m?.type === '__error') { childError = String(m.stack ?? m.message); return; }
    markReady();
    if (typeof m?.type === 'string' && m.type.startsWith('__')) return; // __ready, __exit: protocol only
    const i = waiters.findIndex((w) => w.type === m?.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(raw as P['fromChild']);
    else queue.push(raw as P['fromChild']);
  });

  // Point channel: `P <hit> <name>` lines.
  const hitsSeen: PointHit[] = [];
  const pointWaiters: Array<{ name: string; resolve(h: PointHit): void }> = [];
  const garbage: string[] = [];
  let partial = '';
  const plannedAction = (name: string, hit: number): PointAction | undefined => points.find((p) => p.name === name && (p.hit ?? 1) === hit)?.action;
  let killedBy: PointHit | undefined;
  const killed = new Promise<PointHit & ChildExit>((resolve, reject) => {
    onExit((e) => {
      if (killedBy) resolve({ ...killedBy, ...e });
      else {
        const planned = points.filter((p) => p.action === 'kill').map((p) => `${p.name}#${p.hit ?? 1}`).join(', ') || '(no kill point planned)';
        reject(timedOut ? new TestTimeoutError(planned, undefined, `child ${label}: kill point ${planned} not reached within ${lifeTimeout} ms`)
          : crash(`before reaching kill point ${planned}`, e));
      }
    });
  });
  killed.catch(() => {});
  ((proc.stdio as unknown as Array<Readable | Writable | null>)[FD_POINTS] as Readable).setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl); partial = partial.slice(nl + 1);
      const m = POINT_LINE.exec(line);
      const action = m ? plannedAction(m[2]!, Number(m[1])) : undefined;
      if (!m || !action) { garbage.push(line); continue; }
      const hit: PointHit = { name: m[2]!, hit: Number(m[1]), action };
      hitsSeen.push(hit);
      if (action === 'kill' && !killedBy && !exit) { killedBy = hit; proc.kill('SIGKILL'); }
      for (let i = pointWaiters.length - 1; i >= 0; i--) if (pointWaiters[i]!.name === hit.name) pointWaiters.splice(i, 1)[0]!.resolve(hit);
    }
  });
  const resumeStream = (proc.stdio as unknown as Array<Readable | Writable | null>)[FD_RESUME] as Writable;
  resumeStream.on('error', () => {}); // EPIPE after the child died

  const withTimeout = <T>(p: Promise<T>, ms: number, what: string, cancel: () => void): Promise<T> => new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => { cancel(); reject(new TestTimeoutError(what, undefined, `child ${label}: ${what} not received within ${ms} ms`)); }, ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e); });
  });

  const handle: ChildHandle<P> = {
    pid: proc.pid!, label, ready, killed,
    output: { stdout: () => stdout, stderr: () => stderr },
    send(msg) {
      if (exit || !proc.connected) throw new TestChildError(`child ${label} (${proc.pid}) is gone; cannot send ${msg.type}`, exit ?? { code: null, signal: null }, stderr.slice(-4096));
      proc.send(msg);
    },
    next(type, o = {}) {
      const i = queue.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as never);
      let w: (typeof waiters)[number] | undefined;
      const p = new Promise<P['fromChild']>((resolve, reject) => {
        w = { type, resolve };
        waiters.push(w);
        onExit((e) => reject(crash(`while ${label} waited for message '${type}'`, e)));
      });
      return withTimeout(p, o.timeoutMs ?? 10_000, `message '${type}'`, () => { const j = waiters.indexOf(w!); if (j >= 0) waiters.splice(j, 1); }) as never;
    },
    request(msg, replyType, o) { handle.send(msg); return handle.next(replyType, o); },
    atPoint(name, o = {}) {
      const seen = hitsSeen.find((h) => h.name === name);
      if (seen) return Promise.resolve(seen);
      let w: (typeof pointWaiters)[number] | undefined;
      const p = new Promise<PointHit>((resolve, reject) => {
        w = { name, resolve };
        pointWaiters.push(w);
        onExit((e) => { if (!hitsSeen.some((h) => h.name === name)) reject(crash(`before reaching point ${name}`, e)); });
      });
      return withTimeout(p, o.timeoutMs ?? lifeTimeout, `point ${name}`, () => { const j = pointWaiters.indexOf(w!); if (j >= 0) pointWaiters.splice(j, 1); });
    },
    resume() { if (!exit) resumeStream.write(Buffer.of(1)); },
    async kill(signal = 'SIGKILL') { if (!exit) proc.kill(signal); return exitedP; },
    async exited(o = {}) {
      const e = await withTimeout(exitedP, o.timeoutMs ?? lifeTimeout, 'exit', () => {});
      const expect = o.expect ?? 'success';
      if (expect === 'any') return e;
      if (expect === 'success' ? e.code === 0 : e.signal === expect) return e;
      throw crash(`unexpectedly (expected ${expect})${garbage.length ? `; point channel garbage: ${garbage.slice(0, 3).join(' | ')}` : ''}`, e);
    },
    async [Symbol.asyncDispose]() { if (!exit) proc.kill('SIGKILL'); await exitedP; },
  };
  return handle;
}
