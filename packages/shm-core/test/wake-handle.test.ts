import { afterEach, describe, expect, it } from 'vitest';
import { chownSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, uniqueName, leftovers } from '@shmkit/testkit';
import { Doorbell, DoorbellGroup, futexWait, futexWake, isShmkitError, objectName, objectPath, Segment, Waiter, WakeHandle,
  type WakeWatcher } from '../src/index.js';
import { native } from '../src/native.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const code = (c: string) => (e: unknown) => isShmkitError(e, c as never);
const throwsCode = (fn: () => unknown, c: string) => expect(fn).toThrow(expect.objectContaining({ code: c }));
const fifoPath = (name: string) => objectPath(objectName('shm-core', name, 'wake'));
afterEach(() => killAll());

describe('WakeHandle eventfd (§8 row 24)', () => {
  it('5 signals then one wait: one resolution, and the following drain() finds nothing', async () => {
    const w = WakeHandle.eventfd();
    try {
      for (let i = 0; i < 5; i++) expect(w.signal()).toBe(true);
      expect(await w.wait({ timeoutMs: 1000 })).toBe(true);
      expect(w.drain()).toBe(0);
      expect(await w.wait({ timeoutMs: 10 })).toBe(false);
    } finally { w.close(); }
  });
  it('fromFd: takeOwnership false works on a dup (closing the handle leaves the fd open)', async () => {
    const orig = WakeHandle.eventfd();
    try {
      const view = WakeHandle.fromFd(orig.fd, 'eventfd', { takeOwnership: false });
      expect(view.fd).not.toBe(orig.fd);
      expect(orig.signal()).toBe(true);
      expect(await view.wait({ timeoutMs: 1000 })).toBe(true);
      view.close();
      expect(orig.signal()).toBe(true);
      expect(orig.drain()).toBe(1);
    } finally { orig.close(); }
  });
  it('an unref\'d handle does not keep its wait from timing out or resolving', async () => {
    const w = WakeHandle.eventfd().unref();
    try {
      expect(await w.wait({ timeoutMs: 10 })).toBe(false);
      setTimeout(() => w.signal(), 5);
      expect(await w.ref().wait({ timeoutMs: 5000 })).toBe(true);
    } finally { w.close(); }
  });
});

describe.each(['poll', 'socket'] as const)('WakeHandle FIFO, %s watcher (§8 row 26)', (watcher: WakeWatcher) => {
  it('signaller without waiter: false; 70,000 signals without draining: all true, one wake-up, drain empties', async () => {
    const name = uniqueName(`fifo${watcher}`);
    const s = WakeHandle.fifoSignaller('shm-core', name, 'wake');
    try {
      expect(s.signal()).toBe(false);
      const w = WakeHandle.createFifo('shm-core', name, 'wake', { watcher });
      try {
        let all = true;
        for (let i = 0; i < 70_000; i++) all = s.signal() && all;
        expect(all).toBe(true);
        expect(s.refused).toBe(false);
        expect(await w.wait({ timeoutMs: 5000 })).toBe(true);
        expect(w.drain()).toBe(0);
        expect(await w.wait({ timeoutMs: 10 })).toBe(false);
        // a pending wait is resolved by the watcher itself
        const p = w.wait({ timeoutMs: 5000 });
        setTimeout(() => s.signal(), 2);
        expect(await p).toBe(true);
      } finally { w.close(); }
      expect(s.signal()).toBe(false); // reader gone (EPIPE / ENXIO): nobody to wake
    } finally { s.close(); }
    expect(leftovers(name)).toEqual([]);
  });
  it('a signaller reaches a new waiter that re-created the FIFO after the old reader went away (EPIPE, reopen)', () => {
    const name = uniqueName(`fifor${watcher}`);
    const s = WakeHandle.fifoSignaller('shm-core', name, 'wake');
    try {
      const first = WakeHandle.createFifo('shm-core', name, 'wake', { watcher });
      expect(s.signal()).toBe(true);
      first.close();
      const second = WakeHandle.createFifo('shm-core', name, 'wake', { watcher });
      try {
        expect(s.signal()).toBe(true);
        expect(second.drain()).toBe(1);
      } finally { second.close(); }
    } finally { s.close(); }
    expect(leftovers(name)).toEqual([]);
  });
  it('timeout, abort, busy and close', async () => {
    const name = uniqueName(`fifob${watcher}`);
    const w = WakeHandle.createFifo('shm-core', name, 'wake', { watcher });
    try {
      expect(await w.wait({ timeoutMs: 10 })).toBe(false);
      const ac = new AbortController();
      const p = w.wait({ signal: ac.signal });
      await expect(w.wait()).rejects.toSatisfy(code('ERR_BUSY'));
      ac.abort();
      await expect(p).rejects.toSatisfy(code('ERR_ABORTED'));
      const q = w.wait();
      w.close();
      await expect(q).rejects.toSatisfy(code('ERR_CLOSED'));
      throwsCode(() => w.signal(), 'ERR_CLOSED');
    } finally { w.close(); }
    expect(leftovers(name)).toEqual([]);
  });
  it('a dropped handle with a pending wait is not collected (--expose-gc child, §8 row 25)', async () => {
    const name = uniqueName(`gc${watcher}`);
    const child = spawnFixture(fixture('wake-gc.ts'), [name, watcher]);
    const s = WakeHandle.fifoSignaller('shm-core', name, 'wake');
    try {
      await child.waitLine((l) => l === 'ready');
      expect(s.signal()).toBe(true);
      expect(await child.waitLine((l) => l.startsWith('resolved'))).toBe('resolved true');
      expect(await child.exited).toBe(0);
    } finally { s.close(); rmSync(fifoPath(name), { force: true }); }
    expect(leftovers(name)).toEqual([]);
  });
});

describe('Futex (§8 row 23)', () => {
  it("'changed' when the value differs, 'timeout' after the timeout, a blocked child is woken", async () => {
    const name = uniqueName('futex');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    try {
      Atomics.store(seg.int32(128, 1), 0, 0);
      expect(futexWait(seg, 128, 5, 1000)).toBe('changed');
      expect(futexWait(seg, 128, 0, 5)).toBe('timeout');
      expect(futexWake(seg, 128)).toBe(0);
      const child = spawnFixture(fixture('futex-waiter.ts'), [name]);
      await child.waitLine((l) => l === 'waiting');
      // wake until the kernel says it woke someone: proves the child was blocked (bounded by count and deadline)
      const deadline = Date.now() + 20_000;
      let woken = 0;
      for (let i = 0; woken === 0 && i < 100_000 && Date.now() < deadline; i++) {
        woken = futexWake(seg, 128, 1);
        if (!woken) await new Promise((r) => setTimeout(r, 1));
      }
      expect(woken).toBe(1);
      expect(await child.waitLine((l) => l.startsWith('result'))).toBe('result woken');
      expect(await child.exited).toBe(0);
    } finally { seg.unlink(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });
});

describe('bad input (§7)', () => {
  it('futexWait at offset 2 and outside the segment: ERR_INVALID_ARGUMENT', () => {
    const name = uniqueName('badfutex');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    try {
      throwsCode(() => futexWait(seg, 2, 0, 0), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => futexWake(seg, 6), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => futexWait(seg, 4096, 0, 0), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => futexWait(seg, 128, 0, NaN), 'ERR_INVALID_ARGUMENT');
    } finally { seg.unlink(); seg.close(); }
  });
  it("WakeHandle.fromFd(efd, 'eventfd', {watcher: 'socket'}), bad fds and kinds", () => {
    const w = WakeHandle.eventfd();
    try {
      throwsCode(() => WakeHandle.fromFd(w.fd, 'eventfd', { watcher: 'socket' }), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => WakeHandle.fromFd(w.fd, 'pipe' as never), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => WakeHandle.fromFd(w.fd, 'fifo'), 'ERR_INVALID_ARGUMENT'); // an eventfd is not a FIFO
      expect(() => WakeHandle.fromFd(-1, 'eventfd')).toThrow(expect.objectContaining({ code: 'ERR_SYSCALL', errnoName: 'EBADF' }));
      expect(() => WakeHandle.fromFd(987_654, 'eventfd')).toThrow(expect.objectContaining({ code: 'ERR_SYSCALL', errnoName: 'EBADF' }));
    } finally { w.close(); }
  });
  it('createFifo where a regular file of that name exists: ERR_EXISTS, the file is left alone', () => {
    const name = uniqueName('plantedw');
    const path = fifoPath(name);
    writeFileSync(path, 'mine');
    try {
      throwsCode(() => WakeHandle.createFifo('shm-core', name, 'wake'), 'ERR_EXISTS');
      expect(readFileSync(path, 'utf8')).toBe('mine');
      throwsCode(() => WakeHandle.createFifo('shm-core', name, 'wake', { mode: 0o1777 }), 'ERR_INVALID_ARGUMENT');
    } finally { rmSync(path, { force: true }); }
  });
  it("fifoSignaller whose name is a regular file or another user's FIFO: signal() false, refused, nothing written", () => {
    const name = uniqueName('planteds');
    const path = fifoPath(name);
    writeFileSync(path, '');
    const s = WakeHandle.fifoSignaller('shm-core', name, 'wake');
    try {
      expect(s.refused).toBe(false);
      expect(s.signal()).toBe(false);
      expect(s.refused).toBe(true);
      expect(readFileSync(path).length).toBe(0);
    } finally { s.close(); rmSync(path, { force: true }); }
    if (process.getuid!() !== 0) return; // making another user's FIFO needs root
    const other = uniqueName('otherfifo');
    const w = WakeHandle.createFifo('shm-core', other, 'wake');
    const s2 = WakeHandle.fifoSignaller('shm-core', other, 'wake');
    try {
      chownSync(fifoPath(other), 65534, 65534);
      expect(s2.signal()).toBe(false);
      expect(s2.refused).toBe(true);
      expect(w.drain()).toBe(0);
    } finally { s2.close(); w.close(); }
    expect(existsSync(fifoPath(other))).toBe(false);
  });
  it('Doorbell, DoorbellGroup and Waiter reject bad offsets, ids and options with ERR_INVALID_ARGUMENT', async () => {
    const name = uniqueName('badwait');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    const wake = WakeHandle.eventfd();
    try {
      for (const off of [8, 1.5, -16, 4096, 4088, NaN]) throwsCode(() => Doorbell.at(seg, off), 'ERR_INVALID_ARGUMENT');
      const bell = Doorbell.at(seg, 64);
      for (const id of [-1, 2 ** 32, 1.5, NaN]) throwsCode(() => bell.claim(id), 'ERR_INVALID_ARGUMENT');
      bell.claim(2 ** 32 - 1);
      expect(bell.wakeId).toBe(2 ** 32 - 1);
      for (const off of [2, 4094, 4096, -4]) throwsCode(() => new DoorbellGroup(seg, off, [bell]), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => new DoorbellGroup(seg, 48, [{} as Doorbell]), 'ERR_INVALID_ARGUMENT');
      const bad: object[] = [
        { mode: 'fast' }, { spinBudgetUs: -1 }, { spinBudgetUs: NaN }, { spinSliceMs: 0 }, { spinSliceMs: '10' },
        { recheckMs: -5 }, { group: { seg, parkedOffset: 3 } }, { group: null },
      ];
      for (const opts of bad) throwsCode(() => new Waiter(bell, wake, opts), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => new Waiter({} as Doorbell, wake), 'ERR_INVALID_ARGUMENT');
      throwsCode(() => new Waiter(bell, WakeHandle.fifoSignaller('shm-core', name, 'x')), 'ERR_INVALID_ARGUMENT');
      const waiter = new Waiter(bell, wake, { spinBudgetUs: 0, recheckMs: 0 });
      for (const t of [-1, NaN]) await expect(waiter.wait(() => true, { timeoutMs: t })).rejects.toSatisfy(code('ERR_INVALID_ARGUMENT'));
      await expect(waiter.wait(42 as never)).rejects.toSatisfy(code('ERR_INVALID_ARGUMENT'));
      throwsCode(() => waiter.waitSync(() => true, { timeoutMs: -1 }), 'ERR_INVALID_ARGUMENT');
      // a Waiter without a WakeHandle may only spin or waitSync
      const noWake = new Waiter(bell, null, { mode: 'block' });
      await expect(noWake.wait(() => false, { timeoutMs: 10 })).rejects.toSatisfy(code('ERR_INVALID_STATE'));
      throwsCode(() => noWake.prepareWait(() => false), 'ERR_INVALID_STATE');
      expect(noWake.waitSync(() => false, { timeoutMs: 1 })).toBe(false);
      expect(await new Waiter(bell, null, { mode: 'spin' }).wait(() => false, { timeoutMs: 2 })).toBe(false);
      // garbage in the state word (a foreign writer) is never mistaken for a parked waiter
      Atomics.store(seg.int32(64, 1), 0, 7);
      expect(bell.ring(wake)).toBe(false);
      expect(wake.drain()).toBe(0);
    } finally { wake.close(); seg.unlink(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });
});
