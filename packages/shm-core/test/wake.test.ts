import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, uniqueName, leftovers } from '@shmkit/testkit';
import { Doorbell, isShmkitError, Segment, WakeHandle } from '../src/index.js';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
afterEach(() => killAll());

describe('WakeHandle', () => {
  it('eventfd: a pending signal resolves wait at once; a second wait is ERR_BUSY', async () => {
    const w = WakeHandle.eventfd();
    try {
      expect(w.signal()).toBe(true);
      expect(await w.wait()).toBe(true);
      const p = w.wait({ timeoutMs: 20 });
      await expect(w.wait()).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_BUSY'));
      expect(await p).toBe(false);
    } finally { w.close(); }
  });
  it('eventfd: a wait after a timed-out wait is woken by signal, abort and close reject', async () => {
    const w = WakeHandle.eventfd();
    try {
      expect(await w.wait({ timeoutMs: 20 })).toBe(false);
      const p = w.wait();
      await expect(w.wait()).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_BUSY'));
      setTimeout(() => w.signal(), 5);
      expect(await p).toBe(true);
      const ac = new AbortController();
      const q = w.wait({ signal: ac.signal });
      ac.abort();
      await expect(q).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_ABORTED'));
      const r = w.wait();
      w.close();
      await expect(r).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_CLOSED'));
    } finally { w.close(); }
  });
  it('a FIFO signaller without a waiter reports that nobody can be woken', () => {
    const s = WakeHandle.fifoSignaller('shm-core', uniqueName('nofifo'), 'wake');
    expect(s.signal()).toBe(false);
    s.close();
  });
  it('Doorbell + FIFO: a parked waiter is woken by another process, which signals only because it is parked', async () => {
    const name = uniqueName('bell');
    const seg = Segment.create({ package: 'shm-core', name, layoutMajor: 1, size: 4096 });
    const wake = WakeHandle.createFifo('shm-core', name, 'wake');
    try {
      const bell = Doorbell.at(seg, 64);
      bell.claim(1);
      const data = seg.int32(128, 1);
      // awake waiter: ring is a no-op with no syscall
      expect(bell.ring(WakeHandle.fifoSignaller('shm-core', name, 'wake'))).toBe(false);
      const child = spawnFixture(fixture('doorbell-producer.ts'), [name]);
      const ok = await bell.park(() => Atomics.load(data, 0) === 99, wake, { timeoutMs: 20_000 });
      expect(ok).toBe(true);
      expect(await child.waitLine((l) => l.startsWith('rang'))).toBe('rang true');
      expect(bell.signals).toBe(1);
      expect(await child.exited).toBe(0);
    } finally { wake.close(); seg.unlink(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });
});
