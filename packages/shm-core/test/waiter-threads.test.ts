// §5.15: a block-mode Waiter parks without a helper thread (uv_poll on the wake fd, or a futex on the
// calling thread); the hybrid spin budget is forced to 0 when os.availableParallelism() < 2 (§3.11).
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { killAll, leftovers, spawnChild, uniqueName, until } from '@shmkit/testkit';
import { Doorbell, DoorbellState, Segment, WakeHandle } from '../src/index.js';
import type { P } from './fixtures/thread-park.js';

const fixture = new URL('./fixtures/thread-park.ts', import.meta.url);
afterEach(() => killAll());
/** The first CPU this process may run on (Cpus_allowed_list of /proc/self/status, e.g. '0-1' → '0'). */
const firstCpu = () => /Cpus_allowed_list:\s*(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
const hasTaskset = () => { try { execFileSync('taskset', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } };
const tasks = (pid: number) => readdirSync(`/proc/${pid}/task`).length;

function setup(label: string) {
  const name = uniqueName(label);
  const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
  return { name, seg, bell: Doorbell.at(seg, 512), data: seg.int32(1024, 1), done: () => { seg.unlink(); seg.close(); expect(leftovers(name)).toEqual([]); } };
}

describe('Waiter threads and spin budget', () => {
  it.each(['fd', 'futex'] as const)('%s: a block-mode parked waiter runs no extra thread', async (how) => {
    const t = setup(`thr${how}`);
    try {
      const c = await spawnChild<P>(fixture, { args: [t.name, how] });
      await c.ready;
      const before = tasks(c.pid);
      c.send({ type: 'park' });
      const parked = how === 'fd' ? DoorbellState.ParkedFd : DoorbellState.ParkedFutex;
      await until(() => t.bell.state === parked, 20_000, 'child parked');
      expect(tasks(c.pid)).toBe(before);
      Atomics.store(t.data, 0, 1);
      const signaller = how === 'fd' ? WakeHandle.fifoSignaller('shm-core', t.name, 'wake') : null;
      try { expect(t.bell.ring(signaller)).toBe(true); } finally { signaller?.close(); }
      const w = await c.next('woken');
      expect(w.ok).toBe(true);
      expect(w.stats.parks).toBe(1);
      await c.exited();
    } finally { t.done(); }
  });

  it('hybrid spins its budget with 2 CPUs and not at all when pinned to 1 CPU', async (ctx) => {
    if (availableParallelism() < 2 || !hasTaskset()) ctx.skip();
    const t = setup('budget');
    try {
      const run = async (pin: boolean) => {
        const c = await spawnChild<P>(fixture, { args: [t.name, 'budget'] });
        await c.ready;
        // Pins every thread of the child to one of our CPUs before it constructs its Waiter.
        if (pin) execFileSync('taskset', ['-a', '-p', '-c', firstCpu(), String(c.pid)], { stdio: 'ignore' });
        c.send({ type: 'park' });
        const r = await c.next('budget');
        await c.exited();
        return r;
      };
      const free = await run(false);
      expect(free).toMatchObject({ ok: false, cpus: availableParallelism() });
      // The spin loop reads the clock only every 64 checks: a spinning wait checks at least 64 times.
      expect(free.checks).toBeGreaterThanOrEqual(64);
      const pinned = await run(true);
      expect(pinned).toMatchObject({ ok: false, cpus: 1 });
      expect(pinned.checks).toBeLessThan(64); // initial check, then park/re-check rounds only
    } finally { t.done(); }
  });
});
