import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, rmSync, statSync } from 'node:fs';
import { killAll, leftovers, spawnFixture, uniqueName, until, type Child } from '@shmkit/testkit';
import { isShmkitError, RmpChannel } from '../src/index.js';
import { channelId, cleanup, collect, fixture, fresh, outLine, pattern, spawnAt, track } from './helpers.js';

afterEach(() => { killAll(); cleanup(); });
const line = (c: Child, prefix: string) => c.waitLine((l) => l.startsWith(prefix));

describe('lifecycle across processes', () => {
  it('6/7: a role "reader" process (read-only ring, no writer) receives what a writer process sends', async () => {
    const { name, ch } = fresh('xfer', { ringSize: 64 * 1024 });
    const reader = spawnFixture(fixture('reader.ts'), [name, '200', 'hybrid', 'reader']);
    await line(reader, 'ready');
    const probe = spawnFixture(fixture('slot.ts'), [name, 'reader', 'writer']);
    expect(await line(probe, 'writer')).toBe('writer ERR_PERMISSION');
    expect(await line(probe, 'writable')).toBe('writable false');
    probe.kill();
    const writer = spawnFixture(fixture('writer.ts'), [name, '1', '200', '64']);
    await line(writer, 'done');
    const done = JSON.parse((await line(reader, 'done')).slice(5));
    expect(done).toMatchObject({ got: 200, bad: 0, overruns: 0 });
    ch.close();
    expect(RmpChannel.unlink(name)).toBe(true);
    expect(RmpChannel.unlink(name)).toBe(false);
  });
  it('11: four processes openOrCreate at once: exactly one creator, one channelId', async () => {
    const name = track(uniqueName('race'));
    const kids = Array.from({ length: 4 }, () => spawnFixture(fixture('creator.ts'), [name, 'openOrCreate']));
    const lines = await Promise.all(kids.map((k) => line(k, 'created')));
    expect(lines.filter((l) => l.startsWith('created true')).length).toBe(1);
    expect(new Set(lines.map((l) => l.split(' ')[2])).size).toBe(1);
  });
  // hit 2 of shm-core.create.beforeLink is the ring's (the readers segment is created first, hit 1)
  for (const [point, hit] of [['rmp.create.afterReaders', 1], ['shm-core.create.beforeLink', 2]] as const) {
    it(`12: creator killed at ${point}: open is ERR_NOT_FOUND at once, openOrCreate recreates, the stale readers segment is gone`, async () => {
      const name = track(uniqueName('crash-create'));
      const k = await spawnAt('creator.ts', [name, 'create'], point, 'kill', hit);
      expect(await k.killed).toMatchObject({ name: point, hit, signal: 'SIGKILL' });
      const readers = `/dev/shm/shmkit.rmp.${name}.readers`;
      expect(existsSync(readers)).toBe(true);
      const staleIno = statSync(readers).ino;
      expect(existsSync(`/dev/shm/shmkit.rmp.${name}.ring`)).toBe(false);
      expect(() => RmpChannel.openSync(name)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
      await expect(RmpChannel.open(name, { waitInitMs: 5000 })).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_NOT_FOUND'));
      const ch = await RmpChannel.openOrCreate(name, { ringSize: 1024, maxReaders: 3 });
      expect(ch.isCreator).toBe(true);
      expect(statSync(readers).ino).not.toBe(staleIno);
      ch.close();
      // the dead creator's unlinked ring temporary (`<final>~<pid>-<hex>`) is what `shmkit clean` removes
      for (const f of leftovers(`${name}.ring~${k.pid}-`)) rmSync(`/dev/shm/${f}`, { force: true });
    });
  }
  it('12: creator paused after the readers segment: create is ERR_EXISTS, open waits and succeeds after resume', async () => {
    const name = track(uniqueName('pause-create'));
    const k = await spawnAt('creator.ts', [name, 'create'], 'rmp.create.afterReaders', 'pause');
    await k.atPoint('rmp.create.afterReaders');
    expect(() => RmpChannel.create(name)).toThrow(expect.objectContaining({ code: 'ERR_EXISTS' }));
    expect(() => RmpChannel.openSync(name)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND', details: expect.objectContaining({ reason: 'creating' }) }));
    const opening = RmpChannel.open(name, { waitInitMs: 20_000 });
    setTimeout(() => k.resume(), 20);
    const ch = await opening;
    expect(ch.isCreator).toBe(false);
    expect(await outLine(k, 'created')).toMatch(/^created true /);
    expect(await k.exited()).toMatchObject({ code: 0 });
    ch.close();
  });
});

describe('reader slots across processes', () => {
  it('16: five children race for three slots: three succeed, two get ERR_CAPACITY; then slot 0 is free again', async () => {
    const { name, ch } = fresh('slots16');
    const kids = Array.from({ length: 5 }, () => spawnFixture(fixture('slot.ts'), [name]));
    const lines = await Promise.all(kids.map((k) => k.waitLine((l) => l.startsWith('ready') || l.startsWith('error'))));
    expect(lines.filter((l) => l.startsWith('ready')).length).toBe(3);
    expect(lines.filter((l) => l === 'error ERR_CAPACITY').length).toBe(2);
    for (const k of kids) k.kill();
    await Promise.all(kids.map((k) => k.exited));
    const r = ch.createReader();
    expect(r.slot).toBe(0);
    ch.close();
  });
  it('17/49: nine readers SIGKILLed after activation are reclaimed one by one; the reclaimer receives the writer messages', async () => {
    const { name, ch } = fresh('slots17', { maxReaders: 1 });
    for (let i = 0; i < 9; i++) {
      const k = await spawnAt('slot.ts', [name], 'rmp.slot.afterActivate');
      expect(await k.killed).toMatchObject({ signal: 'SIGKILL' });
      if (i < 8) { const r = ch.createReader(); r.close(); }
    }
    // the ninth dead slot blocks nothing: a writer laps it, then a new reader reclaims it
    const w = ch.createWriter();
    const r = ch.createReader();
    expect(ch.stats().slotReclaims).toBe(9n);
    w.write(Uint8Array.of(1)); w.write(Uint8Array.of(2));
    expect(collect(r).map((m) => m.payload[0])).toEqual([1, 2]);
    ch.close();
   }, 120_000); // nine sequential child processes: slow on a loaded machine
  it('19/sweep: a dead parked reader is repaired: doorbell awake, parked decremented, slot inactive, FIFO replaced', async () => {
    const { name, ch } = fresh('sweep19');
    const k = spawnFixture(fixture('slot.ts'), [name, 'both', 'park']);
    await line(k, 'ready');
    await until(() => ch.stats().parked === 1 && ch.stats().readers[0]?.doorbell === 'parked-fd', 10_000, 'child parked');
    k.kill(); await k.exited;
    expect(ch.stats().readers[0]!.active).toBe(true);
    expect(ch.sweep()).toBe(1);
    const s = ch.stats();
    expect(s.parked).toBe(0);
    expect(s.readers[0]).toMatchObject({ active: false, doorbell: 'awake' });
    expect(existsSync(`/dev/shm/shmkit.rmp.${name}.wake-0`)).toBe(false);
    expect(ch.sweep()).toBe(0);
    const r = ch.createReader();
    expect(r.slot).toBe(0);
    expect(existsSync(`/dev/shm/shmkit.rmp.${name}.wake-0`)).toBe(true);
    ch.close();
  });
});

describe('crashes and torn reads across processes', () => {
  function abc(ch: RmpChannel) {
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    w.write(pattern(16, 0)); w.write(pattern(16, 1)); w.write(pattern(8, 2));
    expect(collect(r, 1).length).toBe(1); // A consumed; B at 24 and C at 48 pending
    return { r, w };
  }
  it('46: writer paused mid-copy of D: the reader detects the overrun, never delivers torn B; the writer finishes', async () => {
    const { name, ch } = fresh('torn46', { ringSize: 64 });
    const { r } = abc(ch);
    const k = await spawnAt('oneshot.ts', [name, 'write24'], 'rmp.write.midCopy', 'pause');
    await k.atPoint('rmp.write.midCopy');
    const got = collect(r);
    expect(got.length).toBe(0);
    expect(r.lastOverrun?.reason).toBe('lapped');
    k.resume();
    await outLine(k, 'done');
    expect(await k.exited()).toMatchObject({ code: 0 });
    r.resync();
    expect(ch.stats().freePos).toBe(96n);
    ch.close();
  });
  it('47: writer SIGKILLed mid-copy with a lagging reader: loss detected, the next writer recovers, E arrives with the right seq', async () => {
    const { name, ch } = fresh('kill47', { ringSize: 64 });
    const { r } = abc(ch);
    const k = await spawnAt('oneshot.ts', [name, 'write24'], 'rmp.write.midCopy');
    expect(await k.killed).toMatchObject({ signal: 'SIGKILL' });
    expect(collect(r).length).toBe(0);
    expect(r.expired).toBe(true);
    const w2 = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    r.resync();
    const seq = w2.write(Uint8Array.of(0xe));
    const s = ch.stats();
    expect(s.writerDeaths).toBe(1n);
    expect(s.abandonedBytes).toBe(32n);
    expect(w2.stats.lockRecoveries).toBe(1);
    const got = collect(r);
    expect(got.map((m) => [m.seq, m.payload[0]])).toEqual([[3, 0xe]]);
    expect(seq).toBe(3);
    ch.close();
  });
  it('48/63: writer SIGKILLed holding the lock: a waiting writer times out while it is stopped, then recovers', async () => {
    const { name, ch } = fresh('lock48');
    const k = await spawnAt('oneshot.ts', [name, 'write1'], 'rmp.write.afterLock', 'pause');
    await k.atPoint('rmp.write.afterLock');
    const w = ch.createWriter({ lockTimeoutMs: 30 });
    expect(() => w.write(Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'ERR_TIMEOUT', details: { what: 'writer-lock' } }));
    await k.kill('SIGKILL');
    const r = ch.createReader();
    const w2 = ch.createWriter({ lockTimeoutMs: 5000 });
    w2.write(Uint8Array.of(1)); w2.write(Uint8Array.of(2));
    expect(ch.stats().writerDeaths).toBe(1n);
    expect(collect(r).map((m) => m.payload[0])).toEqual([1, 2]);
    ch.close();
  });
  it('50: writer killed after commitSeq, before freePos: the next message shows a seq gap of 1, no overrun', async () => {
    const { name, ch } = fresh('gap50');
    const r = ch.createReader();
    const k = await spawnAt('oneshot.ts', [name, 'write1'], 'rmp.write.afterCommitSeq');
    expect(await k.killed).toMatchObject({ signal: 'SIGKILL' });
    const w = ch.createWriter();
    w.write(Uint8Array.of(5));
    const got = collect(r);
    expect(got.map((m) => m.seq)).toEqual([1]);
    expect(r.stats.seqGaps).toBe(1);
    expect(r.stats.overruns).toBe(0);
    ch.close();
  });
});

describe('backpressure across processes', () => {
  it('40: a dead lagging reader does not make the writer wait (deadReaderSkips 1)', async () => {
    const { name, ch } = fresh('dead40');
    const k = spawnFixture(fixture('slot.ts'), [name]);
    await line(k, 'ready');
    k.kill(); await k.exited;
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 5000, onTimeout: 'throw' } });
    for (let i = 0; i < 100; i++) w.write(new Uint8Array(8));
    expect(w.stats.waits).toBe(0); // never waited: the dead reader was skipped at once
    expect(ch.stats().deadReaderSkips).toBe(1n);
    expect(w.stats.waitTimeouts).toBe(0);
    ch.close();
  });
  it('39/42: a stopped reader: wait times out (overwrite or throw), and no wait holds the lock', async () => {
    const { name, ch } = fresh('stop39');
    const k = spawnFixture(fixture('slot.ts'), [name]);
    await line(k, 'ready');
    k.kill('SIGSTOP');
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 30, onTimeout: 'throw' } });
    for (let i = 0; i < 64; i++) w.write(new Uint8Array(8));
    let err: unknown;
    try { w.write(new Uint8Array(8)); } catch (e) { err = e; }
    expect(isShmkitError(err, 'ERR_WOULD_BLOCK')).toBe(true);
    expect((err as { details: { readerAlive: unknown; slot: number } }).details).toMatchObject({ readerAlive: true, slot: 0 });
    // 42: while this writer waits (async), another writer process takes the lock and writes
    const w2 = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 20_000, onTimeout: 'throw' } });
    const pending = w2.writeAsync(new Uint8Array(8));
    const other = spawnFixture(fixture('oneshot.ts'), [name, 'write1']);
    await line(other, 'done');
    k.kill('SIGCONT'); k.kill('SIGKILL'); await k.exited;
    await expect(pending).resolves.toBeGreaterThan(0); // the dead reader is then skipped
    const w3 = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 30 } });
    const k2 = spawnFixture(fixture('slot.ts'), [name]);
    await line(k2, 'ready'); k2.kill('SIGSTOP');
    for (let i = 0; i < 70; i++) w3.write(new Uint8Array(8));
    expect(w3.stats.waitTimeouts).toBe(1);
    expect(w3.stats.overwrites).toBeGreaterThan(0);
    k2.kill('SIGCONT'); k2.kill();
    ch.close();
  });
  it('38: wait returns as soon as the reader process drains: no loss through a small ring', async () => {
    const { name, ch } = fresh('wait38');
    const reader = spawnFixture(fixture('reader.ts'), [name, '400', 'hybrid']);
    await line(reader, 'ready');
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 10_000, onTimeout: 'throw' } });
    for (let i = 0; i < 400; i++) {
      const p = new Uint8Array(100); const dv = new DataView(p.buffer); dv.setUint32(0, 7, true); dv.setUint32(4, i, true);
      for (let j = 8; j < 100; j++) p[j] = (7 + i + j) & 255;
      w.write(p);
    }
    const done = JSON.parse((await line(reader, 'done')).slice(5));
    expect(done).toMatchObject({ got: 400, bad: 0, overruns: 0 });
    expect(w.stats.backpressureEvents).toBeGreaterThan(0);
    expect(w.stats.waitTimeouts).toBe(0);
    ch.close();
  });
});

describe('many-to-many (64/65)', () => {
  it('64: 3 writer and 3 reader processes, 6 000 × 500 B per writer through 64 KiB: same order everywhere, no loss', async () => {
    const { name, ch } = fresh('stress', { ringSize: 64 * 1024, maxReaders: 4 });
    const readers = ['both', 'reader', 'reader'].map((role) => spawnFixture(fixture('reader.ts'), [name, '18000', 'hybrid', role]));
    await Promise.all(readers.map((r) => line(r, 'ready')));
    const policy = JSON.stringify({ policy: 'wait', timeoutMs: 5000, onTimeout: 'throw' });
    const writers = [1, 2, 3].map((id) => spawnFixture(fixture('writer.ts'), [name, String(id), '6000', '500', policy, id === 3 ? '16' : '1']));
    const wstats = await Promise.all(writers.map(async (w) => JSON.parse((await line(w, 'done')).slice(5))));
    const results = await Promise.all(readers.map(async (r) => JSON.parse((await r.waitLine((l) => l.startsWith('done'), 120_000)).slice(5))));
    for (const res of results) expect(res).toMatchObject({ got: 18000, bad: 0, overruns: 0 });
    expect(new Set(results.map((r) => r.hash)).size).toBe(1);
    expect(ch.stats().commitSeq).toBe(18000n);
    expect(wstats.reduce((a, s) => a + s.backpressureEvents, 0)).toBeGreaterThan(0);
    ch.close();
  }, 180_000);
});

describe('leaks', () => {
  it('every object of this file is gone', () => {
    cleanup();
    expect(leftovers(process.env.SHMKIT_TEST_RUNTAG ?? 'tk000000').filter((f) => f.includes('rmp'))).toEqual([]);
  });
});

describe('introspector (66)', () => {
  it('inspect lists both segments and the readers table; an abandoned write is warned about; counters are monotonic', async () => {
    const { introspector } = await import('../src/introspect.js');
    const { name, ch } = fresh('intro66', { ringSize: 64 });
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    w.write(new Uint8Array(8));
    const ref = { package: 'rmp' as const, name };
    const a = await introspector.inspect(ref, { raw: false });
    expect(a.warnings).toEqual([]);
    expect(a.summary).toMatchObject({ ringSize: 64, messages: 1n, activeReaders: 1, maxReaders: 3 });
    expect(a.sections[0]!.rows![0]).toMatchObject({ slot: r.slot, pid: process.pid, alive: 'alive', active: true });
    expect(introspector.partPattern.test('wake-2') && introspector.partPattern.test('ring') && !introspector.partPattern.test('x')).toBe(true);
    const counters = introspector.openCounters(ref)!;
    const m1 = counters.read().messages!;
    const k = await spawnAt('oneshot.ts', [name, 'write24'], 'rmp.write.midCopy');
    expect(await k.killed).toMatchObject({ signal: 'SIGKILL' });
    const b = await introspector.inspect(ref, { raw: false });
    expect(b.warnings.some((x) => x.startsWith('abandoned write'))).toBe(true);
    w.write(new Uint8Array(8));
    expect(counters.read().messages!).toBeGreaterThan(m1);
    counters.close();
    ch.close();
  });
});

describe('writer mutex (63)', () => {
  it('tryLock free → acquired; held by a live child → busy; holder SIGKILLed → recovered; relock → ERR_MUTEX_DEADLOCK', async () => {
    const { name, ch } = fresh('mutex63');
    const lock = ch._core.writerLock!;
    expect(lock.tryLock()).toBe('acquired');
    expect(() => lock.tryLock()).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_DEADLOCK' }));
    const w = ch.createWriter();
    expect(() => w.write(Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_DEADLOCK' }));
    lock.unlock();
    const k = await spawnAt('oneshot.ts', [name, 'write1'], 'rmp.write.afterLock', 'pause');
    await k.atPoint('rmp.write.afterLock');
    expect(lock.tryLock()).toBe('busy');
    await k.kill('SIGKILL');
    let r: string = 'busy';
    const end = Date.now() + 100;
    while (r === 'busy' && Date.now() < end) r = lock.tryLock();
    expect(r).toBe('recovered');
    lock.unlock();
    expect(w.write(Uint8Array.of(2))).toBe(0);
    ch.close();
  });
});

describe('batches (34)', () => {
  it('writeManyAsync keeps its order when it waits and another writer process interleaves', async () => {
    const { name, ch } = fresh('batch34');
    const r = ch.createReader();
    const got: Array<[number, number]> = [];
    const pump = r.listen((p) => got.push([p.length, p.length >= 4 ? new DataView(p.buffer, p.byteOffset, 4).getUint32(0, true) : -1]));
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 10_000, onTimeout: 'throw' } });
    const k = spawnFixture(fixture('burst.ts'), [name, '50', '40', 'nopad', 'wait']);
    await k.waitLine((l) => l === 'ready');
    const batch = Array.from({ length: 200 }, (_, i) => { const p = new Uint8Array(24); new DataView(p.buffer).setUint32(0, i, true); return p; });
    expect(await w.writeManyAsync(batch)).toBe(200);
    await k.exited;
    await until(() => got.length === 250, 20_000, 'all delivered');
    pump.close();
    const mine = got.filter(([len]) => len === 24).map(([, i]) => i);
    expect(mine).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const theirs = got.filter(([len]) => len === 40).map(([, i]) => i);
    expect(theirs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(r.stats.overruns).toBe(0);
    expect(w.stats.waits).toBeGreaterThan(0);
    ch.close();
  });
});
