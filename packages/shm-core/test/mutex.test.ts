// RobustMutex (shm-core.md §3.8, §5.11, §7 rows, §8 test 22): the spec's API names, a holder SIGKILLed
// at the test point shm-core.mutex.afterLock, heldByMe, timedLock, withLock(recovered), nativeMutexSize.
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, leftovers, spawnChild, uniqueName } from '@shmkit/testkit';
import { isShmkitError, nativeMutexSize, RobustMutex, Segment } from '../src/index.js';
import { native } from '../src/native.js';
import type { P } from './fixtures/mutex-locker.js';

const locker = new URL('./fixtures/mutex-locker.ts', import.meta.url);
afterEach(() => killAll());

const code = (fn: () => unknown): string => {
  try { fn(); return 'no error'; } catch (e) { return isShmkitError(e) ? e.code : String(e); }
};

function withSegment<T>(label: string, body: (seg: Segment, m: RobustMutex, name: string) => Promise<T> | T): Promise<T> {
  const name = uniqueName(label);
  let m!: RobustMutex;
  const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096, init: (s) => { m = RobustMutex.init(s, 64); } });
  return (async () => {
    try { return await body(seg, m, name); } finally {
      seg.heldMutexes = 0; // a failed assertion may leave the lock held; the test must still clean up
      seg.unlink(); seg.close();
      expect(leftovers(name)).toEqual([]);
    }
  })();
}

describe('RobustMutex (§3.8, §8 test 22)', () => {
  it('nativeMutexSize() equals shk_mutex_size() and fits the 64-byte slot (§8 test 38)', () => {
    expect(nativeMutexSize()).toBe(native().mutexSize());
    expect(nativeMutexSize()).toBeGreaterThan(0);
    expect(nativeMutexSize()).toBeLessThanOrEqual(64);
    if (process.arch === 'x64') expect(nativeMutexSize()).toBe(40);
  });

  it('owner SIGKILLed at shm-core.mutex.afterLock: the survivor gets recovered, then acquired', () => withSegment('mpoint', async (seg, m, name) => {
    const c = await spawnChild<P>(locker, { args: [name], points: [{ name: 'shm-core.mutex.afterLock', action: 'kill' }] });
    const k = await c.killed;
    expect(k).toMatchObject({ name: 'shm-core.mutex.afterLock', hit: 1, signal: 'SIGKILL' });
    expect(m.heldByMe).toBe(false);
    expect(m.lock()).toBe('recovered');
    expect(m.heldByMe).toBe(true);
    m.unlock();
    expect(m.heldByMe).toBe(false);
    expect(m.lock()).toBe('acquired');
    m.unlock();
    expect(seg.heldMutexes).toBe(0);
  }));

  it('held by a live child: tryLock busy, timedLock(50) timeout, ownerTid set; free again after the child unlocks', () => withSegment('mlive', async (_seg, m, name) => {
    const c = await spawnChild<P>(locker, { args: [name] });
    expect(await c.next('locked')).toEqual({ type: 'locked', state: 'acquired', heldByMe: true });
    expect(m.tryLock()).toBe('busy');
    expect(m.timedLock(50)).toBe('timeout');
    expect(m.lockTimeout(1)).toBe('timeout'); // deprecated alias, used by @shmkit/rmp
    expect(m.heldByMe).toBe(false);
    expect(m.ownerTid()).toBeGreaterThan(0);
    c.send({ type: 'unlock' });
    await c.next('unlocked');
    await c.exited();
    expect(m.ownerTid()).toBe(0);
    expect(m.timedLock(1000)).toBe('acquired');
    m.unlock();
  }));

  it('relock, tryLock and timedLock on a mutex this thread holds are ERR_MUTEX_DEADLOCK; unlock without holding is ERR_MUTEX_NOT_OWNER', () => withSegment('mself', (seg, m) => {
    expect(code(() => m.unlock())).toBe('ERR_MUTEX_NOT_OWNER');
    expect(m.tryLock()).toBe('acquired');
    const other = RobustMutex.attach(seg, 64); // a second handle of the same slot sees the same thread-held state
    expect(other.heldByMe).toBe(true);
    expect(code(() => m.lock())).toBe('ERR_MUTEX_DEADLOCK');
    expect(code(() => m.tryLock())).toBe('ERR_MUTEX_DEADLOCK');
    expect(code(() => m.timedLock(10))).toBe('ERR_MUTEX_DEADLOCK');
    expect(m.ownerTid()).toBeGreaterThan(0);
    expect(seg.heldMutexes).toBe(1);
    other.unlock();
    expect(m.heldByMe).toBe(false);
    expect(seg.heldMutexes).toBe(0);
    expect(code(() => m.unlock())).toBe('ERR_MUTEX_NOT_OWNER');
    expect(code(() => m.timedLock(-1))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => m.timedLock(Number.NaN))).toBe('ERR_INVALID_ARGUMENT');
  }));

  it('withLock passes recovered as a boolean, unlocks on throw, and an async callback is ERR_ASYNC_IN_LOCK with the mutex free', () => withSegment('mwith', async (_seg, m, name) => {
    expect(m.withLock((recovered) => { expect(m.heldByMe).toBe(true); return recovered; })).toBe(false);
    expect(m.heldByMe).toBe(false);
    expect(() => m.withLock(() => { throw new Error('inside'); })).toThrow('inside');
    expect(m.heldByMe).toBe(false);
    expect(code(() => m.withLock(async () => 1))).toBe('ERR_ASYNC_IN_LOCK');
    expect(code(() => m.withLock(() => Promise.reject(new Error('rejected'))))).toBe('ERR_ASYNC_IN_LOCK');
    expect(m.heldByMe).toBe(false);
    expect(m.tryLock()).toBe('acquired');
    m.unlock();
    // A previous owner killed at the point: the callback is told recovered = true.
    const c = await spawnChild<P>(locker, { args: [name], points: [{ name: 'shm-core.mutex.afterLock', action: 'kill' }] });
    await c.killed;
    expect(m.withLock((recovered) => recovered)).toBe(true);
    expect(m.withLock((recovered) => recovered)).toBe(false);
  }));

  it('attach refuses an unaligned offset or one outside the segment (ERR_INVALID_ARGUMENT) and a slot smaller than the native mutex (ERR_UNSUPPORTED_PLATFORM)', () => withSegment('mslot', (seg) => {
    expect(code(() => RobustMutex.attach(seg, 68))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => RobustMutex.attach(seg, -8))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => RobustMutex.attach(seg, 4096))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => RobustMutex.attach(seg, 4096 - 8))).toBe('ERR_UNSUPPORTED_PLATFORM');
    const last = 4096 - Math.ceil(nativeMutexSize() / 8) * 8;
    expect(code(() => RobustMutex.attach(seg, last + 8))).toBe('ERR_UNSUPPORTED_PLATFORM');
    expect(RobustMutex.attach(seg, last)).toBeInstanceOf(RobustMutex);
  }));

  it('close() while this thread holds a mutex of the segment is ERR_BUSY; after unlock it closes (§8 test 16)', () => {
    const name = uniqueName('mclose');
    let m!: RobustMutex;
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096, init: (s) => { m = RobustMutex.init(s, 64); } });
    try {
      m.lock();
      expect(code(() => seg.close())).toBe('ERR_BUSY');
      m.unlock();
    } finally { seg.unlink(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });

  it('two opens of one object in one thread share the held set: lock through one, unlock through the other, close both (GAPS F11)', () => withSegment('mtwo', (seg, m, name) => {
    const a = Segment.open({ package: 'shm-core', name, layoutMajor: 1 });
    const b = Segment.open({ package: 'shm-core', name, layoutMajor: 1 });
    try {
      const ma = RobustMutex.attach(a, 64), mb = RobustMutex.attach(b, 64);
      expect(ma.lock()).toBe('acquired');
      for (const x of [m, ma, mb]) expect(x.heldByMe).toBe(true);
      expect([seg.heldMutexes, a.heldMutexes, b.heldMutexes]).toEqual([1, 1, 1]);
      expect(code(() => mb.tryLock())).toBe('ERR_MUTEX_DEADLOCK'); // through the other mapping too
      mb.unlock();
      for (const x of [m, ma, mb]) expect(x.heldByMe).toBe(false);
      expect([seg.heldMutexes, a.heldMutexes, b.heldMutexes]).toEqual([0, 0, 0]);
      expect(code(() => ma.unlock())).toBe('ERR_MUTEX_NOT_OWNER');
      // While another mapping stays open, the held mutex is still reachable through it: this one may close.
      expect(ma.lock()).toBe('acquired');
      b.close();
      expect(b.closed).toBe(true);
      ma.unlock();
      a.close();
      // The creator's Segment is now the last mapping: it refuses to close while the mutex is held.
      expect(m.lock()).toBe('acquired');
      expect(code(() => seg.close())).toBe('ERR_BUSY');
      m.unlock();
    } finally { a.close(); b.close(); }
  }));

  it('a different object (even one reusing a freed inode) starts with nothing held; a memfd window keeps its own set', () => {
    const first = uniqueName('mreuse');
    let m1!: RobustMutex;
    const s1 = Segment.create({ package: 'shm-core', name: first, layoutMajor: 1, size: 4096, init: (s) => { m1 = RobustMutex.init(s, 64); } });
    m1.lock();
    s1.heldMutexes = 0; // forced close while holding (as a failed create does): its set must not outlive it
    s1.unlink(); s1.close();
    const second = uniqueName('mreuse');
    let m2!: RobustMutex;
    const s2 = Segment.create({ package: 'shm-core', name: second, layoutMajor: 1, size: 4096, init: (s) => { m2 = RobustMutex.init(s, 64); } });
    try {
      expect(m2.heldByMe).toBe(false);
      expect(s2.heldMutexes).toBe(0);
      expect(m2.tryLock()).toBe('acquired');
      m2.unlock();
    } finally { s2.unlink(); s2.close(); }
    const whole = Segment.createMemfd({ package: 'shm-core', name: 'mwindow', layoutMajor: 1, size: 8192 });
    const win = Segment.fromFd(whole.fd, { package: 'shm-core', layoutMajor: 1, header: false, takeOwnership: false, offset: 4096, length: 4096 });
    try {
      const mw = RobustMutex.init(win, 64), mo = RobustMutex.attach(whole, 64);
      mw.lock();
      expect(mw.heldByMe).toBe(true);
      expect(mo.heldByMe).toBe(false); // object offset 4160, not 64
      expect(whole.heldMutexes).toBe(0);
      mw.unlock();
    } finally { win.close(); whole.close(); }
    expect(leftovers(first)).toEqual([]);
    expect(leftovers(second)).toEqual([]);
  });
});
