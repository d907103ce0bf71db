import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, uniqueName, leftovers } from '@shmkit/testkit';
import { isShmkitError, objectName, RobustMutex, Segment, ShmkitError, futexWait, futexWake } from '../src/index.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
afterEach(() => killAll());

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return isShmkitError(e) ? e.code : `not a ShmkitError: ${String(e)}`; }
  return undefined;
}

describe('names and errors', () => {
  it('builds names and rejects invalid ones before any syscall', () => {
    expect(objectName('rmp', 'orders', 'ring')).toBe('/shmkit.rmp.orders.ring');
    for (const bad of ['', '.x', 'a/b', 'a b', 'x'.repeat(101), 'a\0b', '../x']) {
      expect(code(() => Segment.create({ package: 'shm-core', name: bad, layoutMajor: 1, size: 4096 }))).toBe('ERR_INVALID_NAME');
    }
  });
  it('ShmkitError carries code, errno name and a cross-copy brand', () => {
    const e = new ShmkitError('ERR_EXISTS', 'x', { errno: 17, syscall: 'shm_open' });
    expect(isShmkitError(e, 'ERR_EXISTS')).toBe(true);
    expect(e.errnoName).toBe('EEXIST');
    expect(isShmkitError(new Error('x'))).toBe(false);
    expect(e.toJSON().code).toBe('ERR_EXISTS');
  });
});

describe('Segment', () => {
  it('creates, opens, validates the header and refuses mismatches with typed codes', () => {
    const name = uniqueName('seg');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096, init: (s) => { s.int32(64)[0] = 42; } });
    try {
      expect(code(() => Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 }))).toBe('ERR_EXISTS');
      const other = Segment.open({ package: 'shm-core', name, layoutMajor: 1 });
      expect(other.int32(64)[0]).toBe(42);
      expect(other.header!.state).toBe('ready');
      expect(other.header!.creatorPid).toBe(process.pid);
      other.close();
      expect(code(() => Segment.open({ package: 'shm-core', name, layoutMajor: 2 }))).toBe('ERR_LAYOUT_MISMATCH');
      expect(code(() => Segment.open({ package: 'shm-core', name, layoutMajor: 1, kind: 3 }))).toBe('ERR_LAYOUT_MISMATCH');
      expect(code(() => Segment.open({ package: 'shm-core', name, layoutMajor: 1, size: 8192 }))).toBe('ERR_LAYOUT_MISMATCH');
      expect(code(() => Segment.open({ package: 'rmp', name, layoutMajor: 1 }))).toBe('ERR_NOT_FOUND');
      seg.uint8()[0] = 0; // corrupt the magic
      expect(code(() => Segment.open({ package: 'shm-core', name, layoutMajor: 1 }))).toBe('ERR_NOT_SHMKIT');
    } finally { seg.unlink(); seg.close(); }
    expect(code(() => Segment.open({ package: 'shm-core', name, layoutMajor: 1 }))).toBe('ERR_NOT_FOUND');
    expect(leftovers(name)).toEqual([]);
  });
  it('rejects bad sizes', () => {
    expect(code(() => Segment.create({ package: 'shm-core', name: uniqueName('sz'), layoutMajor: 1, size: 100 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => Segment.create({ package: 'shm-core', name: uniqueName('sz'), layoutMajor: 1, size: 32 }))).toBe('ERR_INVALID_ARGUMENT');
  });
  it('close() makes any later view access throw instead of crashing', () => {
    const name = uniqueName('close');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    const view = seg.int32(64, 4);
    const dv = seg.dataView();
    seg.unlink();
    seg.close();
    expect(() => Atomics.load(view, 0)).toThrow(TypeError);
    expect(() => dv.getUint32(0)).toThrow(TypeError);
    expect(code(() => seg.int32())).toBe('ERR_CLOSED');
    seg.close();
  });
  it('two processes do Atomics on one segment', async () => {
    const name = uniqueName('atom');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    try {
      const words = seg.int32(64, 4);
      const child = spawnFixture(fixture('atomics-peer.ts'), [name, '100000']);
      let next = 1;
      const deadline = Date.now() + 20_000;
      while (next < 200 && Date.now() < deadline) {
        if (Atomics.load(words, 1) === next - 1) { Atomics.store(words, 1, next); next += 2; }
        if (Atomics.load(words, 0) < 100000) Atomics.add(words, 0, 1);
        else await Promise.resolve();
      }
      await child.waitLine((l) => l.startsWith('done'));
      expect(await child.exited).toBe(0);
      // both sides added; the parent's adds interleave with the ping-pong, so count at least the child's
      expect(Atomics.load(words, 0)).toBeGreaterThanOrEqual(100000);
      expect(Atomics.load(words, 1)).toBe(200);
    } finally { seg.unlink(); seg.close(); }
  });
});

describe('RobustMutex', () => {
  it('owner SIGKILLed while holding it: the survivor recovers', async () => {
    const name = uniqueName('mutex');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096, init: (s) => { RobustMutex.init(s, 64); } });
    try {
      const m = RobustMutex.attach(seg, 64);
      const child = spawnFixture(fixture('mutex-holder.ts'), [name]);
      await child.waitLine((l) => l === 'locked acquired');
      expect(m.tryLock()).toBe('busy');
      expect(m.ownerTid()).toBeGreaterThan(0);
      child.kill('SIGKILL');
      await child.exited;
      expect(m.lock()).toBe('recovered');
      expect(code(() => m.lock())).toBe('ERR_MUTEX_DEADLOCK');
      m.unlock();
      expect(code(() => m.unlock())).toBe('ERR_MUTEX_NOT_OWNER');
      expect(m.withLock((recovered) => recovered)).toBe(false);
      expect(code(() => m.withLock(async () => 1))).toBe('ERR_ASYNC_IN_LOCK');
    } finally { seg.unlink(); seg.close(); }
  });
});

describe('futex', () => {
  it('reports a changed value and a timeout, and wakes nobody when nobody waits', () => {
    const name = uniqueName('futex');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    try {
      seg.int32(64)[0] = 5;
      expect(futexWait(seg, 64, 6, 10)).toBe('changed');
      expect(futexWait(seg, 64, 5, 1)).toBe('timeout');
      expect(futexWake(seg, 64, 1)).toBe(0);
    } finally { seg.unlink(); seg.close(); }
  });
});
