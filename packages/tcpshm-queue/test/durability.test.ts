import { describe, expect, it } from 'vitest';
import { PtcpQueue, type PtcpOptions, type QueueStore } from '../src/internal/ptcp-queue.js';

/** A store whose "disk" only sees `written` ranges, like the pwrite-through file store; records every event. */
function recording(B: number) {
  const bytes = new Uint8Array(B + 20);
  const disk = new Uint8Array(B + 20);
  const events: Array<{ op: 'write' | 'flush'; off: number; len: number }> = [];
  const snaps: Uint8Array[] = [];
  let snapping = false;
  const store: QueueStore = {
    bytes,
    written(off, len) {
      events.push({ op: 'write', off, len });
      for (let o = off; o < off + len; o += 8) { disk.set(bytes.subarray(o, Math.min(o + 8, off + len)), o); if (snapping) snaps.push(disk.slice()); }
    },
    flush(off, len) { events.push({ op: 'flush', off, len }); },
  };
  return { store, bytes, disk, events, snaps, snap(on: boolean) { snapping = on; } };
}
const base: PtcpOptions = { little: true, compaction: 'crash-safe', durability: 'none', maxMessageSize: 65535 };
const push = (q: PtcpQueue, len: number, fill: number) => { const off = q.allocAt(len, 1); if (off < 0) return false; q.bytes.fill(fill, off, off + len); q.commit(); return true; };
const stateOf = (disk: Uint8Array, o: PtcpOptions) => { const q = new PtcpQueue({ bytes: disk.slice(), written() {}, flush() {} }, o); const r = q.open(); return { ...r, payloads: payloads(q) }; };
function payloads(q: PtcpQueue): string[] {
  const out: string[] = [];
  for (let idx = q.R; idx < q.W;) { const size = q.bytes[idx * 8]! | (q.bytes[idx * 8 + 1]! << 8); out.push(Buffer.from(q.bytes.subarray(idx * 8 + 8, idx * 8 + size)).toString('hex')); idx += ((size + 7) & ~7) / 8; }
  return out;
}

describe('durability ordering (§5.16, §8.2 38)', () => {
  it("none: no msync at all", () => {
    const r = recording(256); const q = new PtcpQueue(r.store, base); q.open();
    push(q, 10, 1); q.takeUnsent(); q.applyAck(1); q.addAck(1);
    expect(r.events.filter((e) => e.op === 'flush')).toEqual([]);
  });
  it('msync: the bytes handed to the socket and the index range are synced before they are returned', () => {
    const r = recording(256); const q = new PtcpQueue(r.store, { ...base, durability: 'msync' }); q.open();
    push(q, 10, 1);
    const n = r.events.length;
    q.takeUnsent();
    const after = r.events.slice(n);
    expect(after[0]).toEqual({ op: 'flush', off: 0, len: 256 + 20 });
    expect(q.msyncs).toBeGreaterThan(0);
    q.addAck(1);
    expect(q.ackNeedsSync()).toBe(true);
    q.syncIndex();
    expect(q.ackNeedsSync()).toBe(false);
  });
  it('fsync-on-push: msync(record) → W store → msync(index) inside push', () => {
    const r = recording(256); const q = new PtcpQueue(r.store, { ...base, durability: 'fsync-on-push' }); q.open();
    const off = q.allocAt(10, 1); q.bytes.fill(7, off, off + 10);
    const n = r.events.length;
    q.commit();
    expect(r.events.slice(n)).toEqual([
      { op: 'write', off: 0, len: 24 }, { op: 'flush', off: 0, len: 24 },
      { op: 'write', off: 256, len: 4 }, { op: 'flush', off: 256, len: 20 },
    ]);
  });
});

describe('crash-point enumeration (§8.1 8)', () => {
  const check = (o: PtcpOptions, setup: (q: PtcpQueue) => void, op: (q: PtcpQueue) => void) => {
    const r = recording(128); const q = new PtcpQueue(r.store, o); q.open();
    setup(q);
    const pre = stateOf(r.disk, o);
    r.snap(true); op(q); r.snap(false);
    const post = stateOf(r.disk, o);
    let bad = 0;
    for (const s of r.snaps) {
      let st;
      try { st = stateOf(s, o); } catch { bad++; continue; }
      const eq = (x: typeof pre) => JSON.stringify(x) === JSON.stringify(st);
      if (!eq(pre) && !eq(post)) bad++;
    }
    return { bad, snaps: r.snaps.length, pre, post };
  };
  it('push, applyAck (with the empty reset), compaction and zeroing: every snapshot reopens as the pre- or post-state', () => {
    const r1 = check(base, (q) => { push(q, 10, 1); }, (q) => { push(q, 20, 2); });
    expect(r1.bad).toBe(0); expect(r1.post.end).toBe(2);
    const r2 = check(base, (q) => { push(q, 10, 1); push(q, 10, 2); q.takeUnsent(); }, (q) => { q.applyAck(1); });
    expect(r2.bad).toBe(0); expect(r2.post.start).toBe(1);
    const r3 = check(base, (q) => { push(q, 10, 1); push(q, 10, 2); q.takeUnsent(); }, (q) => { q.applyAck(2); });
    expect(r3.bad).toBe(0); expect(r3.post).toMatchObject({ start: 2, end: 2 });
    // 16 blocks: fill 6 records of 2 blocks, ack 4 (R = 8, W = 12), then a 6-block message needs compaction (c = 4 ≤ R).
    const r4 = check(base, (q) => { for (let i = 0; i < 6; i++) push(q, 8, i + 1); q.takeUnsent(); q.applyAck(4); }, (q) => { push(q, 40, 9); });
    expect(r4.bad).toBe(0); expect(r4.snaps).toBeGreaterThan(3); expect(r4.post.end).toBe(7);
    // Zeroing stores the indices first: every intermediate snapshot reopens as a valid queue (pre-state or empty).
    const rz = recording(128); const qz = new PtcpQueue(rz.store, base); qz.open();
    push(qz, 10, 1); qz.addAck(3);
    rz.snap(true); qz.zero(); rz.snap(false);
    for (const s of rz.snaps) { const st = stateOf(s, base); expect(st.payloads.length === 1 || st.start === st.end).toBe(true); }
    expect(stateOf(rz.disk, base)).toEqual({ ack: 0, start: 0, end: 0, payloads: [] });
  });
  it("compaction: 'reference' with overlap produces at least one unrecoverable snapshot", () => {
    const o: PtcpOptions = { ...base, compaction: 'reference' };
    const r = check(o, (q) => { for (let i = 0; i < 7; i++) push(q, 8, i + 1); q.takeUnsent(); q.applyAck(2); }, (q) => { push(q, 24, 9); });
    expect(r.bad).toBeGreaterThan(0);
  });

  it('a large-message run: every snapshot shows 0 or all k records', () => {
    const r = recording(1024); const q = new PtcpQueue(r.store, base); q.open();
    push(q, 10, 1);
    const offs: number[] = [];
    expect(q.allocRun([200, 200, 50], [0x8001, 0x8001, 1], offs)).toBe(true);
    for (const o of offs) q.bytes.fill(5, o, o + 50);
    r.snap(true); q.commit(); r.snap(false);
    for (const s of r.snaps) expect([1, 4]).toContain(stateOf(s, base).payloads.length);
    expect(stateOf(r.disk, base).end).toBe(4);
  });
});
