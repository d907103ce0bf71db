import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, spawnChild, TestTimeoutError, uniqueName, until } from '@shmkit/testkit';
import { processLiveness, Segment } from '../src/index.js';
import { setTestPointHandler, testPoint, TEST_POINTS_ENABLED } from '../src/internal.js';
import type { P } from './fixtures/point-steps.js';
import type { P as MidP } from './fixtures/intermediate.js';

const steps = new URL('./fixtures/point-steps.ts', import.meta.url);
afterEach(() => killAll());

describe('test points', () => {
  it('are off unless SHMKIT_TEST_POINTS=1: testPoint does nothing, setTestPointHandler is refused', () => {
    expect(process.env['SHMKIT_TEST_POINTS']).toBeUndefined();
    expect(TEST_POINTS_ENABLED).toBe(false);
    expect(() => testPoint('shm-core.nodelock.afterTempLocked')).not.toThrow();
    expect(() => setTestPointHandler(() => { throw new Error('never'); })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('a child is SIGKILLed exactly at a named point: the file holds the first half only', async () => {
    const file = join(tmpdir(), `${uniqueName('half')}.txt`);
    try {
      const c = await spawnChild<P>(steps, { args: ['half', file], points: [{ name: 'between', action: 'kill' }] });
      const k = await c.killed;
      expect(k).toMatchObject({ name: 'between', hit: 1, action: 'kill', signal: 'SIGKILL', code: null });
      expect(readFileSync(file, 'utf8')).toBe('first-half;');
    } finally { rmSync(file, { force: true }); }
  });

  it('the same fixture without a plan runs through the point', async () => {
    const file = join(tmpdir(), `${uniqueName('whole')}.txt`);
    try {
      const c = await spawnChild<P>(steps, { args: ['half', file] });
      expect(await c.exited()).toEqual({ code: 0, signal: null });
      expect(readFileSync(file, 'utf8')).toBe('first-half;second-half;');
    } finally { rmSync(file, { force: true }); }
  });

  it('hit 3: passes the point twice and is killed at the third hit', async () => {
    const c = await spawnChild<P>(steps, { args: ['ticks'], points: [{ name: 'tick', hit: 3, action: 'kill' }] });
    const seen: number[] = [];
    for (let i = 1; i <= 3; i++) { seen.push((await c.next('tick')).i); c.send({ type: 'ack' }); }
    const k = await c.killed;
    expect(k).toMatchObject({ name: 'tick', hit: 3, signal: 'SIGKILL' });
    expect(seen).toEqual([1, 2, 3]);
    await expect(c.next('tick', { timeoutMs: 50 })).rejects.toThrow(/exited/);
  });

  it('pause freezes the child at the point (a shm counter stays put) until resume()', async () => {
    const name = uniqueName('pause');
    const seg = Segment.create({ package: 'testkit', name, size: 4096, layoutMajor: 1 });
    try {
      const c = await spawnChild<P>(steps, { args: ['count', name], points: [{ name: 'mid', action: 'pause' }] });
      await c.atPoint('mid');
      const counter = seg.int32(64, 1);
      expect(Atomics.load(counter, 0)).toBe(1000);
      // Frozen: the counter must not move (a deadline that is expected to expire).
      await expect(until(() => Atomics.load(counter, 0) !== 1000, 150, 'counter moved')).rejects.toThrow(/not reached/);
      c.resume();
      expect((await c.next('counted')).total).toBe(200_000);
      await c.exited();
    } finally { seg.unlink(); seg.close(); }
  });

  it('a planned point that is never reached rejects killed with a TestTimeoutError naming it', async () => {
    // The child's deadline also covers its start-up, which takes seconds on a loaded 2-vCPU machine.
    const c = await spawnChild<P>(steps, { args: ['idle'], timeoutMs: 6000, points: [{ name: 'nowhere', action: 'kill' }] });
    await c.ready;
    const err = await c.killed.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TestTimeoutError);
    expect((err as Error).message).toContain('nowhere');
  });

  it.each(['idle', 'paused'])('a %s grandchild leaves by itself when its parent is SIGKILLed', async (mode) => {
    const file = join(tmpdir(), `${uniqueName('gc')}.txt`);
    let gcPid = 0;
    try {
      const mid = await spawnChild<MidP>(new URL('./fixtures/intermediate.ts', import.meta.url), { args: [mode, file] });
      gcPid = (await mid.next('grandchild', { timeoutMs: 20_000 })).pid;
      expect(processLiveness({ pid: gcPid })).toBe('alive');
      await mid.kill('SIGKILL');
      // idle: the IPC channel closes (exit 71); paused at a point: the resume fd reaches EOF (exit 72).
      await until(() => processLiveness({ pid: gcPid }) === 'dead', 10_000, `grandchild ${gcPid} gone`);
      if (mode === 'paused') expect(readFileSync(file, 'utf8')).toBe('first-half;');
    } finally {
      if (gcPid && processLiveness({ pid: gcPid }) === 'alive') process.kill(gcPid, 'SIGKILL');
      rmSync(file, { force: true });
    }
  }, 40_000);

  it('bad plans are refused before spawning', async () => {
    await expect(spawnChild(steps, { points: [{ name: 'x', hit: 0, action: 'kill' }] })).rejects.toThrow(TypeError);
    await expect(spawnChild(steps, { points: [{ name: '', action: 'kill' }] })).rejects.toThrow(TypeError);
    await expect(spawnChild(new URL('./fixtures/missing.ts', import.meta.url))).rejects.toThrow(/fixture not found/);
  });

  it('a planned point that is never reached: atPoint rejects with a TestTimeoutError naming it', async () => {
    const c = await spawnChild<P>(steps, { args: ['idle'], points: [{ name: 'nowhere', action: 'kill' }] });
    await c.ready;
    const err = await c.atPoint('nowhere', { timeoutMs: 300 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TestTimeoutError);
    expect((err as Error).message).toContain('nowhere');
    await c.kill();
    // killed, too, rejects: the child died without reaching its kill point.
    await expect(c.killed).rejects.toThrow(/before reaching kill point nowhere#1/);
  });
});
