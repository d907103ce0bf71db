// The write-in-place family (feature row 41, §3.1): writeWith, tryWriteWith, writeManyWith,
// writeWithAsync, writeManyWithAsync. Same validation, lock, backpressure policies and
// abandon-on-throw rules as write / tryWrite / writeMany / writeAsync.
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnFixture, type Child } from '@shmkit/testkit';
import { isShmkitError } from '../src/index.js';
import { cleanup, collect, fixture, fresh, isPattern, pattern } from './helpers.js';

afterEach(() => { killAll(); cleanup(); });
const line = (c: Child, prefix: string) => c.waitLine((l) => l.startsWith(prefix));
const code = (c: string) => (e: unknown) => isShmkitError(e) && (e as { code: string }).code === c;
/** A fill writing pattern(len, k) in place. */
const patternFill = (len: number, k: number) => (ring: Uint8Array, off: number) => { for (let j = 0; j < len; j++) ring[off + j] = (k * 31 + j) & 255; };

describe('tryWriteWith', () => {
  it('fills in place when no reader is lapped; under backpressure returns false, never calls fill, writes nothing', () => {
    const { ch } = fresh('tww');
    const r = ch.createReader();
    const w = ch.createWriter();
    let n = 0, fills = 0;
    while (w.tryWriteWith(8, (ring, off) => { fills++; patternFill(8, n)(ring, off); })) n++;
    expect(n).toBe(64);
    expect(fills).toBe(64);
    const F = ch.stats().freePos, bp = ch.stats().backpressureEvents;
    expect(w.tryWriteWith(8, () => { fills++; })).toBe(false);
    expect(fills).toBe(64);
    expect(ch.stats().freePos).toBe(F);
    expect(ch.stats().backpressureEvents).toBe(bp + 1n);
    expect(w.stats.backpressureEvents).toBe(2); // the loop's last call and this one
    const got = collect(r);
    expect(got.length).toBe(64);
    got.forEach((m, i) => { expect(m.seq).toBe(i); expect(isPattern(m.payload, 8, i)).toBe(true); });
    expect(w.tryWriteWith(0, () => { fills++; })).toBe(true);
    expect(collect(r).map((m) => m.payload.length)).toEqual([0]);
    ch.close();
  });
  it('validates like writeWith; a nested write is ERR_MUTEX_DEADLOCK; a throwing fill is abandoned and the lock released', () => {
    const { ch } = fresh('tww-bad', { maxPayload: 100 });
    const r = ch.createReader();
    const w = ch.createWriter();
    for (const bad of [1.5, -1, NaN, '8' as unknown as number]) expect(() => w.tryWriteWith(bad, () => {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => w.tryWriteWith(101, () => {})).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', details: expect.objectContaining({ size: 101, max: 100 }) }));
    expect(() => w.tryWriteWith(8, 5 as unknown as () => void)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(ch.stats().freePos).toBe(0n);
    expect(() => w.tryWriteWith(8, () => { w.tryWriteWith(1, () => {}); })).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_DEADLOCK' }));
    expect(ch.stats().abandonedBytes).toBe(16n);
    expect(() => w.tryWriteWith(3, () => { throw new Error('fill failed'); })).toThrow('fill failed');
    expect(ch.stats().abandonedBytes).toBe(32n);
    expect(w.tryWriteWith(2, (ring, off) => { ring[off] = 7; ring[off + 1] = 8; })).toBe(true);
    const got = collect(r);
    expect(got.map((m) => [...m.payload])).toEqual([[7, 8]]);
    expect(r.stats.overruns).toBe(0);
    ch.close();
  });
});

describe('writeManyWith', () => {
  it('takes the lock once, passes each record its index and keeps order; a mixed batch of lengths wraps the ring with a PAD', () => {
    const { ch } = fresh('wmw');
    const r = ch.createReader();
    const w = ch.createWriter();
    const lengths = Array.from({ length: 20 }, (_, i) => i * 3);
    const seen: number[] = [];
    const before = ch._core.lockCalls;
    expect(w.writeManyWith(lengths, (ring, off, k) => { seen.push(k); patternFill(lengths[k]!, k)(ring, off); })).toBe(20);
    expect(ch._core.lockCalls - before).toBe(1);
    expect(seen).toEqual(lengths.map((_, k) => k));
    let got = collect(r);
    got.forEach((m, i) => { expect(m.seq).toBe(i); expect(isPattern(m.payload, i * 3, i)).toBe(true); });
    // Uint32Array lengths; the batch crosses the ring end (the PAD is never delivered)
    const u = new Uint32Array([100, 100, 100, 100]);
    expect(w.writeManyWith(u, (ring, off, k) => patternFill(100, 40 + k)(ring, off))).toBe(4);
    got = collect(r);
    expect(got.map((m) => m.seq)).toEqual([20, 21, 22, 23]);
    got.forEach((m, k) => expect(isPattern(m.payload, 100, 40 + k)).toBe(true));
    expect(w.writeManyWith([], () => { throw new Error('never'); })).toBe(0);
    ch.close();
  });
  it('validates every length before writing anything', () => {
    const { ch } = fresh('wmw-bad', { maxPayload: 64 });
    const w = ch.createWriter();
    let fills = 0;
    expect(() => w.writeManyWith([8, 8, 65], () => { fills++; })).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
    expect(() => w.writeManyWith([8, -1], () => { fills++; })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => w.writeManyWith([8, 2.5], () => { fills++; })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => w.writeManyWith(8 as unknown as number[], () => { fills++; })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => w.writeManyWith([8], null as unknown as () => void)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(fills).toBe(0);
    expect(ch.stats().freePos).toBe(0n);
    ch.close();
  });
  it('a throwing fill abandons that record only: the ones before stay, the lock is free; a ShmkitError carries details.written', () => {
    const { ch } = fresh('wmw-throw');
    const r = ch.createReader();
    const w = ch.createWriter();
    expect(() => w.writeManyWith([8, 8, 8, 8], (ring, off, k) => { if (k === 2) throw new Error('boom'); patternFill(8, k)(ring, off); })).toThrow('boom');
    expect(ch.stats().abandonedBytes).toBe(16n);
    let err: unknown;
    try { w.writeManyWith([8, 8, 8, 8], (ring, off, k) => { if (k === 3) w.write(Uint8Array.of(1)); patternFill(8, 10 + k)(ring, off); }); } catch (e) { err = e; }
    expect(isShmkitError(err, 'ERR_MUTEX_DEADLOCK')).toBe(true);
    expect((err as { details: { written: number } }).details.written).toBe(3);
    expect(ch.stats().abandonedBytes).toBe(32n);
    w.write(pattern(5, 99));
    const got = collect(r);
    expect(got.map((m) => m.payload.length)).toEqual([8, 8, 8, 8, 8, 5]);
    expect(isPattern(got[1]!.payload, 8, 1)).toBe(true);
    expect(isPattern(got[4]!.payload, 8, 12)).toBe(true);
    expect(r.stats.overruns).toBe(0);
    ch.close();
  });
  it('under wait backpressure from a same-thread reader it does not wait (as writeMany) and laps the reader', () => {
    const { ch } = fresh('wmw-bp');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 10_000 } });
    expect(w.writeManyWith(new Array<number>(70).fill(8), (ring, off, k) => patternFill(8, k)(ring, off))).toBe(70);
    expect(w.stats.waits).toBe(0);
    expect(w.stats.backpressureEvents).toBe(1);
    expect(w.stats.overwrites).toBeGreaterThan(0);
    expect(collect(r).length).toBe(0);
    expect(r.lastOverrun?.reason).toBe('lapped');
    ch.close();
  });
});

describe('writeWithAsync / writeManyWithAsync', () => {
  it('wait while a same-thread listen pump drains: nothing lost through a 1 KiB ring, every fill in place', async () => {
    const { ch } = fresh('wwa');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 10_000, onTimeout: 'throw' } });
    const got: number[] = [];
    let bad = 0;
    const pump = r.listen((p, seq) => { got.push(seq); if (!isPattern(p, 24, seq)) bad++; });
    for (let i = 0; i < 150; i++) expect(await w.writeWithAsync(24, patternFill(24, i))).toBe(i);
    expect(await w.writeManyWithAsync(new Array<number>(150).fill(24), (ring, off, k) => patternFill(24, 150 + k)(ring, off))).toBe(150);
    await new Promise<void>((res) => { const t = setInterval(() => { if (got.length >= 300) { clearInterval(t); res(); } }, 1); });
    pump.close();
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(bad).toBe(0);
    expect(r.stats.overruns).toBe(0);
    expect(w.stats.waits).toBeGreaterThan(0);
    ch.close();
  });
  it('reject on bad input, abort, closed writer; a throwing fill is abandoned', async () => {
    const { ch } = fresh('wwa-bad', { maxPayload: 64 });
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 10_000, onTimeout: 'throw' } });
    await expect(w.writeWithAsync(65, () => {})).rejects.toSatisfy(code('ERR_MESSAGE_TOO_LARGE'));
    await expect(w.writeWithAsync(-2, () => {})).rejects.toSatisfy(code('ERR_INVALID_ARGUMENT'));
    await expect(w.writeWithAsync(1, 'x' as unknown as () => void)).rejects.toSatisfy(code('ERR_INVALID_ARGUMENT'));
    await expect(w.writeManyWithAsync([1, 99], () => {})).rejects.toSatisfy(code('ERR_MESSAGE_TOO_LARGE'));
    await expect(w.writeWithAsync(8, () => {}, { signal: AbortSignal.abort() })).rejects.toSatisfy(code('ERR_ABORTED'));
    await expect(w.writeWithAsync(8, () => { throw new Error('async fill failed'); })).rejects.toThrow('async fill failed');
    expect(ch.stats().abandonedBytes).toBe(16n);
    // a full ring: the blocked write waits (reader on this thread, not draining) until aborted
    for (let i = 0; i < 64; i++) w.write(new Uint8Array(8));
    const ac = new AbortController();
    const pending = w.writeWithAsync(8, () => {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await expect(pending).rejects.toSatisfy(code('ERR_ABORTED'));
    expect(collect(r).length).toBe(64);
    expect(await w.writeWithAsync(1, (ring, off) => { ring[off] = 42; })).toBe(64);
    expect(collect(r).map((m) => [...m.payload])).toEqual([[42]]);
    w.close();
    await expect(w.writeWithAsync(1, () => {})).rejects.toSatisfy(code('ERR_CLOSED'));
    await expect(w.writeManyWithAsync([1], () => {})).rejects.toSatisfy(code('ERR_CLOSED'));
    expect(() => w.tryWriteWith(1, () => {})).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => w.writeManyWith([1], () => {})).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    ch.close();
  });
});

describe('the family across processes', () => {
  it('five writer processes (writeWith, tryWriteWith, writeWithAsync, writeManyWith, writeManyWithAsync) and two reader processes through 16 KiB: same total order, no loss', async () => {
    const { name, ch } = fresh('wwprocs', { ringSize: 16 * 1024, maxReaders: 3 });
    const readers = ['both', 'reader'].map((role) => spawnFixture(fixture('reader.ts'), [name, '5000', 'hybrid', role]));
    await Promise.all(readers.map((r) => line(r, 'ready')));
    const policy = JSON.stringify({ policy: 'wait', timeoutMs: 5000, onTimeout: 'throw' });
    const apis: Array<[string, string]> = [['with', '1'], ['trywith', '1'], ['withasync', '1'], ['manywith', '16'], ['manywithasync', '16']];
    const writers = apis.map(([api, batch], k) => spawnFixture(fixture('writer.ts'), [name, String(k + 1), '1000', '100', policy, batch, api]));
    const wstats = await Promise.all(writers.map(async (w) => JSON.parse((await w.waitLine((l) => l.startsWith('done'), 120_000)).slice(5))));
    const results = await Promise.all(readers.map(async (r) => JSON.parse((await r.waitLine((l) => l.startsWith('done'), 120_000)).slice(5))));
    for (const res of results) expect(res).toMatchObject({ got: 5000, bad: 0, overruns: 0 });
    expect(new Set(results.map((r) => r.hash)).size).toBe(1);
    expect(ch.stats().commitSeq).toBe(5000n);
    expect(ch.stats().abandonedBytes).toBe(0n);
    for (const s of wstats) expect(s.messages).toBe(1000);
    ch.close();
  }, 180_000);
});
