// Fixture side of a testkit child (testkit-and-benchmarks.md §3.2, §4.1, §5.2): typed messages over the
// IPC channel, fixture test points with the same protocol as shm-core's testPoint, and exits that tell
// the parent what happened (70 uncaught error, 71 parent gone, 72 parent gone while held at a point).
import { readSync, writeSync } from 'node:fs';
import type { ChildProtocol } from './points.js';

export interface ChildApi<P extends ChildProtocol> {
  /** Tells the parent the fixture is set up (resolves the parent's `ready`). */
  ready(): void;
  send(msg: P['fromChild']): void;
  next<T extends P['toChild']['type']>(type: T): Promise<Extract<P['toChild'], { type: T }>>;
  messages(): AsyncIterableIterator<P['toChild']>;
  /** A point inside the fixture itself; acts per the parent's plan like a library test point. */
  point(name: string): void;
  readonly args: string[];
  readonly fds: number[];
  /** Flushes pending messages, closes the channel, exits with code. */
  exit(code?: number): Promise<never>;
}

const EXIT_ERROR = 70, EXIT_PARENT_GONE = 71, EXIT_PARENT_GONE_AT_POINT = 72;

interface Plan { name: string; hit: number; action: 'kill' | 'pause' | 'notify' }
function readPlan(): Plan[] {
  if (process.env['SHMKIT_TEST_POINTS'] !== '1') return [];
  try {
    const raw = JSON.parse(process.env['SHMKIT_TEST_POINT_PLAN'] ?? '[]') as Array<Partial<Plan>>;
    return raw.filter((e) => typeof e?.name === 'string').map((e) => ({ name: e.name!, hit: e.hit ?? 1, action: e.action! }));
  } catch { return []; }
}
function readFds(): { points: number; resume: number; passed: number[] } | undefined {
  try {
    const f = JSON.parse(process.env['SHMKIT_TESTKIT_FDS'] ?? '') as { points: number; resume: number; passed?: number[] };
    return Number.isInteger(f.points) && Number.isInteger(f.resume) ? { points: f.points, resume: f.resume, passed: f.passed ?? [] } : undefined;
  } catch { return undefined; }
}

let api: ChildApi<ChildProtocol> | undefined;

/** The fixture's end of the channel (one per process). */
export function child<P extends ChildProtocol>(): ChildApi<P> {
  if (api) return api as unknown as ChildApi<P>;
  if (typeof process.send !== 'function') throw new Error('@shmkit/testkit/child: not started by spawnChild (no IPC channel)');
  const plan = readPlan();
  const fds = readFds();
  const hits = new Map<string, number>();
  const queue: Array<P['toChild']> = [];
  const waiters: Array<{ type: string; resolve(m: P['toChild']): void }> = [];
  const channel = process.channel!;
  // The channel keeps the fixture alive only while it waits for a message.
  const refresh = () => { if (waiters.length > 0) channel.ref(); else channel.unref(); };
  refresh();
  process.on('message', (m: P['toChild']) => {
    // messages() waits with the type '\0any', which takes any message.
    const i = waiters.findIndex((w) => w.type === m?.type || w.type === '\0any');
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m); else queue.push(m);
    refresh();
  });
  let exiting = false;
  process.on('disconnect', () => { if (!exiting) process.exit(EXIT_PARENT_GONE); });
  const fail = (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    try { process.send!({ type: '__error', message: err.message, stack: err.stack }, () => process.exit(EXIT_ERROR)); } catch { process.exit(EXIT_ERROR); }
    setTimeout(() => process.exit(EXIT_ERROR), 2000).unref();
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  const park = new Int32Array(new SharedArrayBuffer(4));
  const block = (untilByte: boolean) => {
    const buf = Buffer.alloc(1);
    for (;;) {
      let n: number;
      try { n = readSync(fds!.resume, buf, 0, 1, null); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') { Atomics.wait(park, 0, 0, 1); continue; }
        process.exit(EXIT_PARENT_GONE_AT_POINT);
      }
      if (n === 0) process.exit(EXIT_PARENT_GONE_AT_POINT);
      if (untilByte) return;
    }
  };

  const self: ChildApi<P> = {
    args: process.argv.slice(2),
    fds: fds?.passed ?? [],
    ready() { process.send!({ type: '__ready' }); },
    send(msg) { process.send!(msg); },
    next(type) {
      const i = queue.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as never);
      return new Promise((resolve) => { waiters.push({ type, resolve: resolve as (m: P['toChild']) => void }); refresh(); });
    },
    async *messages() {
      for (;;) {
        if (queue.length > 0) { yield queue.shift()!; continue; }
        yield await new Promise<P['toChild']>((resolve) => { waiters.push({ type: '\0any', resolve }); refresh(); });
      }
    },
    point(name) {
      const hit = (hits.get(name) ?? 0) + 1;
      hits.set(name, hit);
      const entry = plan.find((e) => e.name === name && e.hit === hit);
      if (!entry || !fds) return;
      writeSync(fds.points, `P ${hit} ${name}\n`);
      if (entry.action !== 'notify') block(entry.action === 'pause');
    },
    exit(code = 0) {
      return new Promise<never>(() => {
        exiting = true;
        process.send!({ type: '__exit' }, () => { process.disconnect(); process.exit(code); });
      });
    },
  };
  api = self as unknown as ChildApi<ChildProtocol>;
  return self;
}
