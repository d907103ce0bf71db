import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { killAll, spawnFixture, until } from '@shmkit/testkit';
import { collect, cleanup, fixture, fresh } from './helpers.js';

afterEach(() => { killAll(); cleanup(); });

describe('notification and waiting', () => {
  it('55: a parked (block) reader is woken by a write from another process; a spinning reader costs no signal', async () => {
    const { name, ch } = fresh('wake55');
    const r = ch.createReader({ wait: { mode: 'block' } });
    const k = spawnFixture(fixture('oneshot.ts'), [name, 'whenParked', '1']);
    expect(await r.waitForData({ timeoutMs: 20_000 })).toBe(true);
    expect(collect(r).length).toBe(1);
    await k.exited; // the writer counts its notification after ringing: wait until it is done
    expect(ch.stats().notifications).toBe(1n);
    expect(r.stats.parks).toBe(1);
    const s = ch.createReader({ wait: { mode: 'spin' } });
    r.close();
    const k2 = spawnFixture(fixture('oneshot.ts'), [name, 'write1']);
    expect(await s.waitForData({ timeoutMs: 20_000 })).toBe(true);
    await k2.exited;
    expect(ch.stats().notifications).toBe(1n);
    expect(s.stats.parks).toBe(0);
    ch.close();
  });
  it('56: two sleeps and two writes give two wake-ups; 3 × 1 000 writes from 3 processes during one sleep give one signal', async () => {
    const { name, ch } = fresh('wake56', { ringSize: 64 * 1024 });
    const r = ch.createReader({ wait: { mode: 'block' } });
    const w = ch.createWriter();
    for (let i = 0; i < 2; i++) {
      const p = r.waitForData({ timeoutMs: 20_000 });
      await until(() => ch.stats().parked === 1, 10_000, 'parked');
      w.write(Uint8Array.of(i));
      expect(await p).toBe(true);
      collect(r);
    }
    expect(r.stats.wakeups).toBe(2);
    expect(ch.stats().notifications).toBe(2n);
    const p = r.waitForData({ timeoutMs: 20_000 });
    await until(() => ch.stats().parked === 1, 10_000, 'parked');
    const kids = [0, 1, 2].map(() => spawnFixture(fixture('oneshot.ts'), [name, 'whenParked', '1000']));
    expect(await p).toBe(true);
    await Promise.all(kids.map((k) => k.exited));
    expect(ch.stats().notifications).toBe(3n);
    expect(ch.stats().commitSeq).toBe(3002n);
    ch.close();
  }, 60_000);
  it('57: a parked reader does not resolve without a write and resolves after one (5 times)', async () => {
    const { ch } = fresh('wake57');
    const r = ch.createReader({ wait: { mode: 'block' } });
    const w = ch.createWriter();
    for (let i = 0; i < 5; i++) {
      expect(await r.waitForData({ timeoutMs: 5 })).toBe(false);
      const p = r.waitForData({ timeoutMs: 20_000 });
      setTimeout(() => w.write(Uint8Array.of(i)), 2);
      expect(await p).toBe(true);
      expect(collect(r).length).toBe(1);
    }
    ch.close();
  });
  it('hybrid and spin read() deliver; AbortSignal rejects ERR_ABORTED; read timeout is ERR_TIMEOUT', async () => {
    const { ch } = fresh('modes');
    const w = ch.createWriter();
    for (const mode of ['spin', 'hybrid', 'block'] as const) {
      const r = ch.createReader({ wait: { mode } });
      setTimeout(() => w.write(Uint8Array.of(42)), 3);
      const m = await r.read({ timeoutMs: 20_000 });
      expect(m.payload[0]).toBe(42);
      await expect(r.read({ timeoutMs: 5 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT', details: { what: 'read' } });
      const ac = new AbortController();
      const p = r.read({ signal: ac.signal });
      setTimeout(() => ac.abort(), 3);
      await expect(p).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      r.close();
    }
    ch.close();
  });
  it('60/17: waitForDataSync in a worker parks on the futex and is woken by a writer process; a worker that exits holding a slot is reclaimed', async () => {
    const { name, ch } = fresh('futex60');
    const worker = new Worker(new URL('./fixtures/sync-worker.mjs', import.meta.url), { workerData: { name } });
    const exited = new Promise((res) => worker.once('exit', res));
    const msgs: Array<Record<string, unknown>> = [];
    worker.on('message', (m) => msgs.push(m));
    worker.on('error', (e) => msgs.push({ error: String(e) }));
    await until(() => msgs.length > 0, 20_000, 'worker ready');
    expect(msgs[0]).toHaveProperty('ready');
    await until(() => ch.stats().readers[0]?.doorbell === 'parked-futex', 20_000, 'futex park');
    const k = spawnFixture(fixture('oneshot.ts'), [name, 'write1']);
    await until(() => msgs.some((m) => 'woken' in m), 20_000, 'worker woken');
    expect(msgs.find((m) => 'woken' in m)).toMatchObject({ woken: true, n: 1, parks: 1 });
    await k.exited;
    await exited;
    const leaky = new Worker(new URL('./fixtures/sync-worker.mjs', import.meta.url), { workerData: { name, leak: true } });
    await new Promise((res) => leaky.once('exit', res));
    const before = ch.stats().slotReclaims;
    const r = ch.createReader();
    expect(r.slot).toBe(0);
    expect(ch.stats().slotReclaims).toBe(before + 1n);
    ch.close();
  });
  it('61: notifier none: async block polls on a timer, no FIFO, writers never signal', async () => {
    const { name, ch } = fresh('none61', { notifier: 'none' });
    const r = ch.createReader({ wait: { mode: 'block' }, pollIntervalMs: 1 });
    expect(existsSync(`/dev/shm/shmkit.rmp.${name}.wake-${r.slot}`)).toBe(false);
    const w = ch.createWriter();
    const p = r.waitForData({ timeoutMs: 20_000 });
    setTimeout(() => w.write(Uint8Array.of(1)), 3);
    expect(await p).toBe(true);
    expect(ch.stats().notifications).toBe(0n);
    expect(ch.stats().parked).toBe(0);
    ch.close();
  });
  it('62: no use, no cost: a writer and an idle reader add no libuv handle or timer', async () => {
    const { ch } = fresh('cost62');
    const count = () => process.getActiveResourcesInfo().filter((x) => x !== 'TTYWrap').length;
    const base = count();
    const w = ch.createWriter();
    const r = ch.createReader();
    w.write(Uint8Array.of(1));
    collect(r);
    expect(count()).toBe(base);
    const p = r.waitForData({ mode: 'block', timeoutMs: 20_000 });
    setTimeout(() => w.write(Uint8Array.of(2)), 2);
    await p;
    await new Promise((res) => setImmediate(res));
    // other tests' children may still be closing their pipes: nothing may be added, some may go
    expect(count()).toBeLessThanOrEqual(base);
    ch.close();
  });
  it('59: a wake FIFO replaced by a regular file is never written into', async () => {
    const { name, ch } = fresh('fifo59');
    const r = ch.createReader({ wait: { mode: 'block' } });
    const path = `/dev/shm/shmkit.rmp.${name}.wake-${r.slot}`;
    const { rmSync, writeFileSync, readFileSync } = await import('node:fs');
    rmSync(path); writeFileSync(path, '');
    const w = ch.createWriter();
    const p = r.waitForData({ timeoutMs: 50 });
    await until(() => ch.stats().parked === 1, 10_000, 'parked');
    w.write(Uint8Array.of(1)); // rings: the signaller must not write into the regular file
    await p;
    expect(readFileSync(path).length).toBe(0);
    rmSync(path, { force: true });
    // a dead parked reader's FIFO: the ring's signal returns false, no exception, no SIGPIPE
    const k = spawnFixture(fixture('slot.ts'), [name, 'both', 'park']);
    await k.waitLine((l) => l.startsWith('ready'));
    await until(() => ch.stats().parked >= 1 && ch.stats().readers.some((x) => x.pid === k.proc.pid && x.doorbell === 'parked-fd'), 10_000, 'child parked');
    k.kill(); await k.exited;
    expect(w.notifyReaders()).toBe(0);
    w.write(Uint8Array.of(2));
    ch.close();
  });
});
