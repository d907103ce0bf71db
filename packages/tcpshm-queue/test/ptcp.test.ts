import { describe, expect, it, afterEach } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtcpQueue, memoryStore, type PtcpOptions } from '../src/internal/ptcp-queue.js';
import { FileStore } from '../src/internal/storage.js';
import { isTcpshmError } from '../src/index.js';
import { toHex, vector } from './helpers.js';

const opts: PtcpOptions = { little: true, compaction: 'crash-safe', durability: 'none', maxMessageSize: 65535 };
const mk = (B: number, o: Partial<PtcpOptions> = {}) => { const q = new PtcpQueue(memoryStore(new Uint8Array(B + 20)), { ...opts, ...o }); q.open(); return q; };
const push = (q: PtcpQueue, type: number, payload: Uint8Array): boolean => {
  const off = q.allocAt(payload.length, type);
  if (off < 0) return false;
  q.bytes.set(payload, off); q.commit(); return true;
};
const u32le = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };

describe('PTCP file layout §4.8', () => {
  it('V10: B = 64 after two pushes, my_ack 0, disconnected', () => {
    const q = mk(64);
    push(q, 1, u32le(777));
    push(q, 2, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    const V10 = vector(`00: 0c 00 01 00 00 00 00 00  08: 09 03 00 00 00 00 00 00
16: 14 00 02 00 00 00 00 00  24: 01 02 03 04 05 06 07 08
32: 09 0a 0b 0c 00 00 00 00  40..63: all 00
64: 05 00 00 00 00 00 00 00  72: 00 00 00 00 00 00 00 00
80: 00 00 00 00`, 84);
    expect(toHex(q.bytes)).toBe(toHex(V10));
    const again = new PtcpQueue(memoryStore(q.bytes.slice()), opts);
    expect(again.open()).toEqual({ ack: 0, start: 0, end: 2 });
  });
  it('an all-zero file is an empty queue; stamps carry my_ack; flush hands out whole records; ack resets an empty queue', () => {
    const q = mk(2000);
    q.addAck(3);
    push(q, 5, new Uint8Array(9));
    const sent = q.takeUnsent()!;
    expect(sent.records).toBe(1);
    expect(toHex(sent.bytes.subarray(0, 8))).toBe('1100050003000000');
    expect(sent.bytes.length).toBe(24);
    expect(q.S).toBe(3);
    expect(q.applyAck(2)?.code).toBe("ERR_TCPSHM_ACK_OUT_OF_RANGE");
    expect(q.applyAck(1)).toBeUndefined();
    expect([q.W, q.R, q.S, q.RS]).toEqual([0, 0, 0, 1]);
  });
});

describe('acks §5.4', () => {
  it('out-of-range ack is ERR_TCPSHM_ACK_OUT_OF_RANGE; stale acks are ignored; full ack resets the queue', () => {
    const q = mk(2000);
    for (let i = 0; i < 3; i++) push(q, 1, u32le(i));
    q.takeUnsent();
    expect(q.applyAck(4)?.code).toBe('ERR_TCPSHM_ACK_OUT_OF_RANGE');
    expect(q.applyAck(0)).toBeUndefined();
    expect(q.applyAck(1)).toBeUndefined();
    expect([q.R, q.RS, q.queued]).toEqual([2, 1, 2]);
    expect(q.applyAck(3)).toBeUndefined();
    expect([q.W, q.R, q.S, q.RS, q.queued]).toEqual([0, 0, 0, 3, 0]);
    expect(q.open()).toEqual({ ack: 0, start: 3, end: 3 });
  });
  it('loginAck drops acked records and rewinds S for a byte-identical resend', () => {
    const q = mk(2000);
    push(q, 1, u32le(777)); push(q, 1, u32le(778));
    const first = q.takeUnsent()!.bytes;
    expect(q.open()).toEqual({ ack: 0, start: 0, end: 2 });
    expect(q.loginAck(1)).toBeUndefined();
    const again = q.takeUnsent()!;
    expect(again.records).toBe(1);
    expect(toHex(again.bytes)).toBe(toHex(first.subarray(16)));
  });
  it('an interrupted ack (journal bit) is recovered at open', () => {
    const q = mk(2000);
    for (let i = 0; i < 3; i++) push(q, 1, u32le(i));
    q.takeUnsent();
    const snap = q.bytes.slice();
    const ix = new Uint32Array(snap.buffer, 2000, 5);
    ix[2] = (0x80000000 | 2) >>> 0; ix[3] = 1; // journal stored, R not yet
    const r = new PtcpQueue(memoryStore(snap), opts);
    expect(r.open()).toEqual({ ack: 0, start: 1, end: 3 });
    expect(r.journalRecoveries).toBe(1);
    expect([r.R, r.S]).toEqual([2, 2]);
  });
});

describe('alloc and compaction §5.3', () => {
  it('full returns -1 and sets wantDrain; too large throws; crash-safe compaction only without overlap', () => {
    const q = mk(64); // 8 blocks
    expect(() => q.allocAt(57, 1)).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
    for (let i = 0; i < 4; i++) expect(push(q, 1, u32le(i))).toBe(true); // 2 blocks each
    expect(q.allocAt(4, 1)).toBe(-1);
    expect(q.wantDrain).toBe(true);
    q.takeUnsent();
    q.applyAck(1); // R=2, W=8: c=6 > R → no compaction (crash-safe)
    expect(q.allocAt(4, 1)).toBe(-1);
    q.applyAck(2); // R=4, c=4 ≤ 4
    const off = q.allocAt(4, 1);
    expect(off).toBe(4 * 8 + 8);
    expect([q.W, q.R]).toEqual([4, 0]);
    const r = mk(64, { compaction: 'reference' });
    for (let i = 0; i < 4; i++) push(r, 1, u32le(i));
    r.takeUnsent(); r.applyAck(1);
    expect(r.allocAt(4, 1)).toBe(6 * 8 + 8);
  });
  it('random model: invariants, walk count and full-exactly-when-the-model-says-so', () => {
    let seed = 12345;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n; };
    for (const compaction of ['crash-safe', 'reference'] as const) {
      const q = mk(256, { compaction });
      const model: number[] = []; // lengths of unacked records, in order
      let sent = 0, acked = 0, next = 0;
      for (let step = 0; step < 5000; step++) {
        const op = rnd(4);
        if (op <= 1) {
          const len = rnd(40);
          const blocks = Math.ceil((len + 8) / 8);
          const W = q.W, R = q.R;
          const fits = W + blocks <= 32 || (32 - (W - R) >= blocks && (compaction === 'reference' || W - R <= R));
          const ok = push(q, 1 + rnd(9), new Uint8Array(len).fill(next & 0xff));
          expect(ok).toBe(fits);
          if (ok) { model.push(len); next++; }
        } else if (op === 2) {
          const u = q.takeUnsent(); if (u) sent += u.records;
        } else if (sent > acked) {
          const a = acked + 1 + rnd(sent - acked);
          expect(q.applyAck(a)).toBeUndefined();
          model.splice(0, a - acked); acked = a;
        }
        expect(q.R <= q.S && q.S <= q.W && q.W <= q.NB).toBe(true);
        expect(q.queued).toBe(model.length);
      }
      const re = new PtcpQueue(memoryStore(q.bytes.slice()), { ...opts, compaction });
      expect(re.open()).toEqual({ ack: 0, start: acked >>> 0, end: (acked + model.length) >>> 0 });
    }
  });
});

describe('corrupt PTCP files §5.2 / §7', () => {
  const corrupt = (f: (b: Uint8Array, ix: Uint32Array) => void) => {
    const q = mk(2000);
    push(q, 1, u32le(1)); push(q, 1, u32le(2));
    const b = q.bytes.slice();
    f(b, new Uint32Array(b.buffer, 2000, 5));
    return () => new PtcpQueue(memoryStore(b), opts).open();
  };
  const cases: Array<[string, (b: Uint8Array, ix: Uint32Array) => void]> = [
    ['zero-size record (the reference hangs)', (b) => { b[16] = 0; b[17] = 0; }],
    ['record size 5', (b) => { b[0] = 5; }],
    ['record overruns write_idx', (b) => { b[16] = 40; }],
    ['stamp newer than my_ack', (b) => { b[4] = 1; }],
    ['W > NB', (_b, ix) => { ix[0] = 251; }],
    ['R > W', (_b, ix) => { ix[1] = 5; }],
    ['journal with R > W', (_b, ix) => { ix[2] = (0x80000000 | 9) >>> 0; }],
  ];
  it.each(cases)('%s → ERR_TCPSHM_PTCP_CORRUPT', (_name, f) => {
    const open = corrupt(f);
    try { open(); expect.unreachable(); } catch (e) {
      expect(isTcpshmError(e, 'ERR_TCPSHM_PTCP_CORRUPT')).toBe(true);
      expect((e as { reasonText: string }).reasonText).toBe('Ptcp file corrupt');
      expect(typeof (e as { details: { block: number } }).details.block).toBe('number');
    }
  });
});

describe('PTCP file store', () => {
  let dir = '';
  afterEach(() => { if (dir) rmSync(dir, { recursive: true, force: true }); dir = ''; });
  it('creates B+20 bytes, persists every store, rejects a wrong size without resizing, locks', () => {
    dir = mkdtempSync(join(tmpdir(), 'tcpshm-ptcp-'));
    const path = join(dir, 'c_s.ptcp');
    const s = FileStore.open(path, 84, { mode: 0o600, lock: true, role: 'ptcp', durable: false });
    expect(s.created).toBe(true);
    const q = new PtcpQueue(s, opts); q.open();
    push(q, 1, u32le(777));
    expect(readFileSync(path).subarray(0, 12)).toEqual(Buffer.from('0c0001000000000009030000', 'hex'));
    expect(readFileSync(path).readUInt32LE(64)).toBe(2);
    expect(() => FileStore.open(path, 84, { mode: 0o600, lock: true, role: 'ptcp', durable: false }))
      .toThrow(expect.objectContaining({ code: 'ERR_TCPSHM_FILE_LOCKED' }));
    s.close();
    expect(q.bytes.byteLength).toBe(0); // detached after close
    const wrong = join(dir, 'w.ptcp');
    writeFileSync(wrong, new Uint8Array(100));
    expect(() => FileStore.open(wrong, 84, { mode: 0o600, lock: true, role: 'ptcp', durable: false }))
      .toThrow(expect.objectContaining({ code: 'ERR_LAYOUT_MISMATCH' }));
    expect(statSync(wrong).size).toBe(100);
    const s2 = FileStore.open(path, 84, { mode: 0o600, lock: true, role: 'ptcp', durable: false });
    expect(new PtcpQueue(s2, opts).open()).toEqual({ ack: 0, start: 0, end: 1 });
    s2.close();
  });
});
