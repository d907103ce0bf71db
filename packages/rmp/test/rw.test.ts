import { afterEach, describe, expect, it } from 'vitest';
import { isShmkitError, RmpChannel, SKIP } from '../src/index.js';
import { cleanup, collect, fresh, isPattern, pattern } from './helpers.js';

afterEach(() => cleanup());
const code = (c: string) => (e: unknown) => isShmkitError(e) && (e as { code: string }).code === c;

describe('read/write (ported Toroni cases)', () => {
  it('20: a fresh reader drains 0', () => {
    const { ch } = fresh('rw20');
    const r = ch.createReader();
    expect(r.drain(() => {})).toBe(0);
    expect(r.available()).toBe(false);
    ch.close();
  });
  it('21: write 2, read 2 in order with seqs n, n+1, then drain 0', () => {
    const { ch } = fresh('rw21');
    const w = ch.createWriter();
    w.write(Uint8Array.of(9));
    const r = ch.createReader();
    const a = w.write(Uint8Array.of(1, 2)), b = w.write(Uint8Array.of(3));
    expect(b).toBe(a + 1);
    const got = collect(r);
    expect(got.map((m) => m.seq)).toEqual([a, a + 1]);
    expect([...got[0]!.payload]).toEqual([1, 2]);
    expect([...got[1]!.payload]).toEqual([3]);
    expect(r.drain(() => {})).toBe(0);
    ch.close();
  });
  it('seq numbers cross 2^32 (seq32 wraps, the carry reaches the high half)', () => {
    const { ch } = fresh('seq32');
    Atomics.store(ch._core.rb, 144 >> 3, 2n ** 32n - 2n);
    const r = ch.createReader();
    const w = ch.createWriter();
    const seqs = [0, 1, 2, 3].map((k) => w.write(Uint8Array.of(k)));
    expect(seqs).toEqual([2 ** 32 - 2, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1]);
    expect(collect(r).map((m) => m.seq)).toEqual(seqs);
    expect(ch.stats().commitSeq).toBe(2n ** 32n + 2n);
    expect(r.stats.seqGaps).toBe(0);
    ch.close();
  });
  it('3: bytes round-trip over every ring index while wrapping several times', () => {
    const { ch } = fresh('rw3');
    const r = ch.createReader();
    const w = ch.createWriter();
    let k = 0;
    for (let round = 0; round < 400; round++) {
      const len = (round * 7) % 120;
      w.write(pattern(len, k));
      const got = collect(r);
      expect(got.length).toBe(1);
      expect(isPattern(got[0]!.payload, len, k)).toBe(true);
      k++;
    }
    expect(ch.stats().freePos).toBeGreaterThan(4n * 1024n);
    expect(r.stats.overruns).toBe(0);
    ch.close();
  });
  it('22: S = 1024, 64 messages of 8 B fill the ring exactly and are all delivered', () => {
    const { ch } = fresh('rw22');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    for (let i = 0; i < 64; i++) w.write(pattern(8, i));
    const got = collect(r);
    expect(got.length).toBe(64);
    got.forEach((m, i) => expect(isPattern(m.payload, 8, i)).toBe(true));
    ch.close();
  });
  it('23: 65 such messages with overwrite: lapped, 0 delivered, expiredReads 1, resync lostBytes 1040', () => {
    const { ch } = fresh('rw23');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    for (let i = 0; i < 65; i++) w.write(pattern(8, i));
    expect(r.drain(() => { throw new Error('delivered'); })).toBe(0);
    expect(r.expired).toBe(true);
    expect(r.lastOverrun?.reason).toBe('lapped');
    expect(ch.stats().expiredReads).toBe(1n);
    expect(() => r.tryRead()).toThrow(expect.objectContaining({ code: 'ERR_LOSS_DETECTED' }));
    const info = r.resync();
    expect(info.lostBytes).toBe(1040);
    expect(info.resynced).toBe(true);
    expect(r.expired).toBe(false);
    ch.close();
  });
  it('24: reader joins at 48; 31 messages of 20 B (PAD at 1008) all delivered, a 32nd laps it', () => {
    for (const extra of [false, true]) {
      const { ch } = fresh('rw24');
      const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
      for (let i = 0; i < 3; i++) w.write(new Uint8Array(8));
      expect(ch.stats().freePos).toBe(48n);
      const r = ch.createReader();
      for (let i = 0; i < 31; i++) w.write(pattern(20, i));
      if (extra) w.write(pattern(20, 31));
      const got = collect(r);
      if (!extra) {
        expect(got.length).toBe(31);
        got.forEach((m, i) => expect(isPattern(m.payload, 20, i)).toBe(true));
        expect(r.stats.overruns).toBe(0);
      } else {
        expect(got.length).toBe(0);
        expect(r.lastOverrun?.reason).toBe('lapped');
      }
      ch.close();
    }
  });
  it('25: zero-length padding (S = 64, 48 B then 8 B) delivers both, no overrun', () => {
    const { ch } = fresh('rw25', { ringSize: 64 });
    const r = ch.createReader();
    const w = ch.createWriter();
    w.write(pattern(48, 1));
    expect(collect(r).length).toBe(1);
    w.write(pattern(8, 2));
    expect(ch._core.ring32[56 >> 2]).toBe(0x8000_0000); // PAD with len 0 at index 56
    const got = collect(r);
    expect(got.length).toBe(1);
    expect(isPattern(got[0]!.payload, 8, 2)).toBe(true);
    expect(r.stats.overruns).toBe(0);
    expect(ch.stats().freePos).toBe(80n);
    ch.close();
  });
  it('26: zero-length messages round-trip, interleaved with others', () => {
    const { ch } = fresh('rw26');
    const r = ch.createReader();
    const w = ch.createWriter();
    const lens = [0, 5, 0, 0, 17, 0];
    for (const [k, n] of lens.entries()) w.write(pattern(n, k));
    const got = collect(r);
    expect(got.map((m) => m.payload.length)).toEqual(lens);
    got.forEach((m, k) => expect(isPattern(m.payload, lens[k]!, k)).toBe(true));
    ch.close();
  });
  it('27: custom policy called once with the real position and lag; not again once the reader is lapped', () => {
    const { ch } = fresh('rw27');
    const r = ch.createReader();
    const calls: Array<{ readerPosition: bigint; lagBytes: number; slot: number; sameThread: boolean; readerPid: number }> = [];
    const w = ch.createWriter({ backpressure: { policy: 'custom', decide: (i) => { calls.push(i); return 'overwrite'; } } });
    w.write(new Uint8Array(8));
    collect(r); // reader at 16, published
    for (let i = 0; i < 64; i++) w.write(new Uint8Array(8)); // the 64th overwrites only the consumed record
    expect(calls.length).toBe(0);
    w.write(new Uint8Array(8)); // would overwrite the reader's next record
    expect(calls.length).toBe(1);
    expect(calls[0]!.readerPosition).toBe(16n);
    expect(calls[0]!.lagBytes).toBe(1040 - 16);
    expect(calls[0]!.slot).toBe(r.slot);
    expect(calls[0]!.readerPid).toBe(process.pid);
    expect(calls[0]!.sameThread).toBe(true);
    w.write(new Uint8Array(8));
    expect(calls.length).toBe(1);
    expect(ch.stats().overwrites).toBe(1n);
    ch.close();
  });
  it('28: no active reader, no backpressure', () => {
    const { ch } = fresh('rw28');
    let called = 0;
    const w = ch.createWriter({ backpressure: { policy: 'custom', decide: () => { called++; return 'fail'; } } });
    for (let i = 0; i < 500; i++) w.write(new Uint8Array(20));
    const r = ch.createReader(); r.deactivate();
    for (let i = 0; i < 500; i++) w.write(new Uint8Array(20));
    expect(called).toBe(0);
    expect(ch.stats().backpressureEvents).toBe(0n);
    ch.close();
  });
  it('29: SKIP commits nothing and reaches freePos; a skipped record overwritten before validation is an overrun', () => {
    const { ch } = fresh('rw29');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    for (let i = 0; i < 5; i++) w.write(pattern(10, i));
    let commits = 0;
    expect(r.drainWith({ inspect: () => SKIP, commit: () => { commits++; } })).toBe(0);
    expect(commits).toBe(0);
    expect(r.available()).toBe(false);
    expect(r.stats.skipped).toBe(5);
    // skipped, then the writer laps the skipped records before the end-of-pass validation
    w.write(pattern(10, 9));
    let lapped = false;
    r.drainWith({
      inspect: () => { if (!lapped) { lapped = true; for (let i = 0; i < 70; i++) w.write(new Uint8Array(8)); } return SKIP; },
      commit: () => { commits++; },
    }, 1);
    expect(commits).toBe(0);
    expect(r.expired).toBe(true);
    expect(r.lastOverrun?.reason).toBe('lapped');
    ch.close();
  });
  it('30: near-maximal message needing a PAD: overwrite laps the reader; wait lets the reader pass the PAD first', async () => {
    {
      const { ch } = fresh('rw30a');
      const r = ch.createReader();
      const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
      w.write(new Uint8Array(8)); collect(r);
      w.write(new Uint8Array(1016));
      expect(collect(r).length).toBe(0);
      expect(r.lastOverrun?.reason).toBe('lapped');
      ch.close();
    }
    {
      const { ch } = fresh('rw30b');
      const r = ch.createReader();
      const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 5000, onTimeout: 'throw' } });
      w.write(new Uint8Array(8)); collect(r);
      const got: number[] = [];
      const pump = r.listen((p) => got.push(p.length));
      const seq = await w.writeAsync(pattern(1016, 3));
      await new Promise<void>((res) => { const t = setInterval(() => { if (got.length) { clearInterval(t); res(); } }, 1); });
      pump.close();
      expect(got).toEqual([1016]);
      expect(seq).toBe(1);
      expect(r.stats.overruns).toBe(0);
      expect(ch.stats().backpressureEvents).toBeGreaterThan(0n);
      ch.close();
    }
  });
  it('31: a custom policy that throws: the error propagates and the lock is free', () => {
    const { ch } = fresh('rw31');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'custom', decide: () => { throw new Error('boom'); } } });
    for (let i = 0; i < 64; i++) w.write(new Uint8Array(8));
    expect(() => w.write(new Uint8Array(8))).toThrow('boom');
    const w2 = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    expect(w2.write(new Uint8Array(8))).toBe(64);
    r.close(); ch.close();
  });
  it('32/33: drain on a deactivated reader is ERR_RMP_INACTIVE; maxPayload + 1 is ERR_MESSAGE_TOO_LARGE', () => {
    const { ch } = fresh('rw32', { maxPayload: 100 });
    const r = ch.createReader();
    r.deactivate();
    expect(() => r.drain(() => {})).toThrow(expect.objectContaining({ code: 'ERR_RMP_INACTIVE' }));
    r.activate();
    expect(r.drain(() => {})).toBe(0);
    const w = ch.createWriter();
    expect(() => w.write(new Uint8Array(101))).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', details: { size: 101, max: 100 } }));
    expect(ch.stats().freePos).toBe(0n);
    expect(w.write(new Uint8Array(100))).toBe(0);
    ch.close();
  });
  it('34: writeMany takes the lock once and keeps order', () => {
    const { ch } = fresh('rw34');
    const r = ch.createReader();
    const w = ch.createWriter();
    const before = ch._core.lockCalls;
    expect(w.writeMany(Array.from({ length: 20 }, (_, i) => pattern(i, i)))).toBe(20);
    expect(ch._core.lockCalls - before).toBe(1);
    const got = collect(r);
    expect(got.length).toBe(20);
    got.forEach((m, i) => { expect(m.seq).toBe(i); expect(isPattern(m.payload, i, i)).toBe(true); });
    ch.close();
  });
  it('35: tryWrite returns false under backpressure and writes nothing', () => {
    const { ch } = fresh('rw35');
    const r = ch.createReader();
    const w = ch.createWriter();
    let n = 0;
    while (w.tryWrite(new Uint8Array(8))) n++;
    expect(n).toBe(64);
    const F = ch.stats().freePos;
    expect(w.tryWrite(new Uint8Array(8))).toBe(false);
    expect(ch.stats().freePos).toBe(F);
    expect(collect(r).length).toBe(64);
    expect(w.tryWrite(new Uint8Array(8))).toBe(true);
    ch.close();
  });
  it('36: writeWith fills in place; a nested write is ERR_MUTEX_DEADLOCK; a throwing fill is abandoned', () => {
    const { ch } = fresh('rw36');
    const r = ch.createReader();
    const w = ch.createWriter();
    w.writeWith(4, (ring, off) => { ring.set([1, 2, 3, 4], off); });
    expect([...collect(r)[0]!.payload]).toEqual([1, 2, 3, 4]);
    expect(() => w.writeWith(8, () => { w.write(Uint8Array.of(1)); })).toThrow(expect.objectContaining({ code: 'ERR_MUTEX_DEADLOCK' }));
    expect(ch.stats().abandonedBytes).toBe(16n);
    expect(() => w.writeWith(3, () => { throw new Error('fill failed'); })).toThrow('fill failed');
    expect(ch.stats().abandonedBytes).toBe(32n);
    const seq = w.write(Uint8Array.of(7));
    const got = collect(r);
    expect(got.map((m) => [...m.payload])).toEqual([[7]]);
    expect(got[0]!.seq).toBe(seq);
    expect(r.stats.overruns).toBe(0);
    ch.close();
  });
  it('37: tryRead returns fresh copies; the drain scratch payload is reused', () => {
    const { ch } = fresh('rw37');
    const r = ch.createReader();
    const w = ch.createWriter();
    w.write(Uint8Array.of(1)); w.write(Uint8Array.of(2));
    const a = r.tryRead()!, b = r.tryRead()!;
    expect([a.payload[0], b.payload[0]]).toEqual([1, 2]);
    expect(a.payload.buffer).not.toBe(b.payload.buffer);
    expect(r.tryRead()).toBeUndefined();
    w.write(Uint8Array.of(3)); w.write(Uint8Array.of(4));
    const views: Uint8Array[] = [];
    r.drain((p) => views.push(p));
    expect(views[0]!.buffer).toBe(views[1]!.buffer);
    expect(views[0]![0]).toBe(4);
    ch.close();
  });
  it('41: a sync write blocked by a reader on this thread does not wait; writeAsync waits while listen drains', async () => {
    const { ch } = fresh('rw41');
    const r = ch.createReader();
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 10_000 } });
    for (let i = 0; i < 64; i++) w.write(new Uint8Array(8));
    w.write(new Uint8Array(8));
    expect(w.stats.waits).toBe(0); // the reader cannot run during a sync write: no wait at all
    expect(w.stats.overwrites).toBe(1);
    expect(collect(r).length).toBe(0);
    expect(r.lastOverrun?.reason).toBe('lapped');
    r.resync();
    let got = 0;
    const pump = r.listen(() => { got++; });
    for (let i = 0; i < 300; i++) await w.writeAsync(new Uint8Array(8));
    await new Promise<void>((res) => { const t = setInterval(() => { if (got === 300) { clearInterval(t); res(); } }, 1); });
    pump.close();
    expect(r.stats.overruns).toBe(1);
    ch.close();
  });
  it('43: horizon cache: with 256 current readers a write scans no slot; a newly activated reader is protected', () => {
    const { ch } = fresh('rw43', { maxReaders: 256 });
    const readers = Array.from({ length: 256 }, () => ch.createReader());
    const w = ch.createWriter();
    w.write(new Uint8Array(8));
    const scans = ch._core.scans;
    for (let i = 0; i < 10; i++) w.write(new Uint8Array(8));
    expect(ch._core.scans).toBe(scans);
    readers[0]!.close();
    const fresh2 = ch.createReader();
    let decided = 0;
    const w2 = ch.createWriter({ backpressure: { policy: 'custom', decide: () => { decided++; return 'overwrite'; } } });
    for (let i = 0; i < 70; i++) w2.write(new Uint8Array(8));
    expect(decided).toBeGreaterThan(0);
    expect(fresh2.slot).toBe(0);
    ch.close();
  });
  it('45: torn read during an in-flight overwrite (one process): B is declared lost, never delivered torn', () => {
    for (const dLen of [24, 8]) {
      const { ch } = fresh('rw45', { ringSize: 64 });
      const r = ch.createReader();
      const w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
      w.write(pattern(16, 0)); // A 0..23
      w.write(pattern(16, 1)); // B 24..47
      w.write(pattern(8, 2)); // C 48..63
      expect(collect(r, 1).length).toBe(1); // consumed A
      const delivered: Uint8Array[] = [];
      w.writeWith(dLen, (ring, off) => {
        ring.fill(0xee, off, off + dLen / 2);
        r.drain((p) => delivered.push(p.slice()));
        ring.fill(0xee, off + dLen / 2, off + dLen);
      });
      if (dLen === 24) {
        expect(delivered.length).toBe(0);
        expect(r.lastOverrun?.reason).toBe('lapped');
      } else {
        expect(isPattern(delivered[0]!, 16, 1)).toBe(true);
        expect(isPattern(delivered[1]!, 8, 2)).toBe(true);
        expect(r.stats.overruns).toBe(0);
      }
      ch.close();
    }
  });
});

describe('errors and lifecycle', () => {
  it('8: every method of a closed channel, writer and reader throws ERR_CLOSED', async () => {
    const { ch } = fresh('close8');
    const w = ch.createWriter(), r = ch.createReader();
    ch.close();
    for (const f of [() => ch.createReader(), () => ch.createWriter(), () => ch.stats(), () => ch.sweep(),
      () => w.write(Uint8Array.of(1)), () => w.tryWrite(Uint8Array.of(1)), () => w.writeMany([]), () => w.writeWith(1, () => {}), () => w.notifyReaders(),
      () => r.drain(() => {}), () => r.tryRead(), () => r.available(), () => r.resync(), () => r.activate(), () => r.deactivate(), () => r.waitForDataSync()]) {
      expect(f).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    }
    await expect(r.read()).rejects.toSatisfy(code('ERR_CLOSED'));
    await expect(w.writeAsync(Uint8Array.of(1))).rejects.toSatisfy(code('ERR_CLOSED'));
    ch.close();
  });
  it('bad input (section 7): options and arguments', () => {
    const bad: Array<[() => unknown, string]> = [
      [() => RmpChannel.create('bad name'), 'ERR_INVALID_NAME'],
      [() => RmpChannel.create('x', { ringSize: 1000 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { ringSize: 32 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { ringSize: 2 ** 31 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { maxReaders: 0 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { maxReaders: 1025 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { ringSize: 64, maxPayload: 57 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { maxPayload: -1 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { udpGroup: '10.0.0.1' }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { udpPort: 0 }), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.create('x', { role: 'reader' } as object), 'ERR_INVALID_ARGUMENT'],
      [() => RmpChannel.openSync('no-such-channel-rmp-x'), 'ERR_NOT_FOUND'],
    ];
    for (const [f, c] of bad) expect(f).toThrow(expect.objectContaining({ code: c }));
    const { ch } = fresh('bad7');
    const w = ch.createWriter();
    expect(() => w.write('str' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => w.writeWith(1.5, () => {})).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => ch.createReader({ publishLagBytes: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    const pw = ch.createWriter({ backpressure: { policy: 'custom', decide: async () => 'overwrite' as const } });
    const r = ch.createReader();
    for (let i = 0; i < 64; i++) pw.write(new Uint8Array(8));
    expect(() => pw.write(new Uint8Array(8))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    r.close();
    ch.close();
  });
  it('4/5/9/10: open missing, unlink semantics, isCreator, a record ending at the mapping end, ringSize mismatch', async () => {
    const { name, ch } = fresh('life');
    expect(ch.isCreator).toBe(true);
    const o = await RmpChannel.open(name);
    expect(o.isCreator).toBe(false);
    await expect(RmpChannel.open(name, { ringSize: 2048 })).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_LAYOUT_MISMATCH') && e.details.field === 'ringSize');
    const r = o.createReader();
    const w = ch.createWriter();
    w.write(new Uint8Array(1016)); // ends exactly at the last ring byte
    const got = collect(r);
    expect(got[0]!.payload.length).toBe(1016);
    expect(RmpChannel.unlink(name)).toBe(true);
    expect(RmpChannel.unlink(name)).toBe(false);
    expect(() => RmpChannel.openSync(name)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
    w.write(Uint8Array.of(5)); // mapped handles keep working
    expect(collect(r).length).toBe(1);
    const n2 = await RmpChannel.openOrCreate(name, { ringSize: 1024, maxReaders: 3 });
    expect(n2.isCreator).toBe(true);
    expect(n2._core.ringSeg.dataView().getBigUint64(88, true)).not.toBe(ch._core.ringSeg.dataView().getBigUint64(88, true));
    await expect(RmpChannel.openOrCreate(name, { role: 'reader' })).rejects.toSatisfy(code('ERR_INVALID_ARGUMENT'));
    expect(() => RmpChannel.create(name)).toThrow(expect.objectContaining({ code: 'ERR_EXISTS' }));
    n2.close(); o.close(); ch.close();
  });
  it('14/18: fresh channel has allocHigh 0; a one-slot channel gives ERR_CAPACITY to a second reader', () => {
    const { ch } = fresh('slots', { maxReaders: 1 });
    expect(ch.stats().allocHigh).toBe(0);
    expect(ch.stats().readers).toEqual([]);
    const r = ch.createReader();
    expect(ch.stats().allocHigh).toBe(1);
    expect(() => ch.createReader()).toThrow(expect.objectContaining({ code: 'ERR_CAPACITY', details: { maxReaders: 1 } }));
    r.close();
    expect(ch.createReader().slot).toBe(0);
    ch.close();
  });
  it('15: detection considers exactly the active readers', () => {
    const { ch } = fresh('act15');
    const rs = [ch.createReader(), ch.createReader(), ch.createReader()];
    let blocked: number[] = [];
    const w = ch.createWriter({ backpressure: { policy: 'custom', decide: (i) => { blocked.push(i.slot); return 'overwrite'; } } });
    const lapAll = () => { blocked = []; for (const r of rs) if (r.active) r.resync(); for (let i = 0; i < 65; i++) w.write(new Uint8Array(8)); return blocked; };
    expect(lapAll()).toEqual([0]);
    rs[1]!.deactivate(); expect(lapAll()).toEqual([0]);
    rs[0]!.deactivate(); expect(lapAll()).toEqual([2]);
    rs[2]!.deactivate(); expect(lapAll()).toEqual([]);
    rs[1]!.activate(); expect(lapAll()).toEqual([1]);
    ch.close();
  });
  it('13: header corruption gives typed errors with details.field', async () => {
    const cases: Array<[number, (dv: DataView) => void, string, string | undefined]> = [
      [0, (dv) => dv.setUint32(0, 0x12345678, true), 'ERR_NOT_SHMKIT', undefined],
      [0, (dv) => dv.setUint32(12, 7, true), 'ERR_HEADER_CORRUPT', undefined],
      [0, (dv) => dv.setUint16(8, 2, true), 'ERR_LAYOUT_MISMATCH', 'layoutMajor'],
      [0, (dv) => dv.setUint16(6, 2, true), 'ERR_LAYOUT_MISMATCH', 'kind'],
      [0, (dv) => dv.setBigUint64(64, 1000n, true), 'ERR_LAYOUT_MISMATCH', 'ringSize'],
      [0, (dv) => dv.setBigUint64(64, 2048n, true), 'ERR_LAYOUT_MISMATCH', 'ringSize'],
      [0, (dv) => dv.setUint32(72, 1017, true), 'ERR_LAYOUT_MISMATCH', 'maxPayload'],
      [0, (dv) => dv.setUint32(76, 41, true), 'ERR_LAYOUT_MISMATCH', 'mutexSize'],
      [0, (dv) => dv.setUint32(80, 9, true), 'ERR_LAYOUT_MISMATCH', 'libcTag'],
      [0, (dv) => dv.setUint32(84, 4, true), 'ERR_LAYOUT_MISMATCH', 'maxReaders'],
      [1, (dv) => dv.setUint32(68, 64, true), 'ERR_LAYOUT_MISMATCH', 'slotStride'],
      [1, (dv) => dv.setBigUint64(88, 1n, true), 'ERR_LAYOUT_MISMATCH', 'channelId'],
      [1, (dv) => dv.setBigUint64(96, 2048n, true), 'ERR_LAYOUT_MISMATCH', 'ringSize'],
    ];
    for (const [seg, mutate, c, field] of cases) {
      const { name, ch } = fresh('hdr');
      mutate((seg === 0 ? ch._core.ringSeg : ch._core.readersSeg).dataView());
      let err: unknown;
      try { RmpChannel.openSync(name).close(); } catch (e) { err = e; }
      expect(isShmkitError(err), `${c} ${field}`).toBe(true);
      expect((err as { code: string }).code).toBe(c);
      if (field) expect((err as { details: { field: string } }).details.field).toBe(field);
      ch.close();
    }
    // readers segment missing
    const { name, ch } = fresh('hdr-miss');
    ch._core.readersSeg.unlink();
    expect(() => RmpChannel.openSync(name)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND', details: expect.objectContaining({ part: 'readers' }) }));
    ch.close();
  });
});
