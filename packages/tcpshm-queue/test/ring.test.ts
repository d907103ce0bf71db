import { describe, expect, it } from 'vitest';
import { RingConsumer, RingProducer } from '../src/internal/shm-ring.js';
import { isTcpshmError } from '../src/index.js';
import { toHex } from './helpers.js';

const mkRing = (Q: number, start = 0) => {
  const bytes = new Uint8Array(Q + 256);
  const ix = new Uint32Array(bytes.buffer, Q, 64);
  ix[0] = start >>> 0; ix[32] = start >>> 0;
  return { bytes, p: new RingProducer(bytes, 'c2s'), c: new RingConsumer(bytes, 'c2s') };
};
const put = (p: RingProducer, len: number, type: number, fill: number) => {
  const off = p.allocAt(len, type);
  if (off < 0) return false;
  p.bytes.fill(fill, off, off + len); p.push(); return true;
};

describe('SHM ring §4.10', () => {
  it('V11: wrap marker, indices and the consumer skipping it', () => {
    const { bytes, p, c } = mkRing(1024);
    const take = () => { const off = c.frontAt(); expect(off).toBeGreaterThanOrEqual(0); const t = c.frontType; c.pop(); return t; };
    expect(put(p, 500, 1, 0xa)).toBe(true); expect(take()).toBe(1);
    expect(put(p, 400, 2, 0xb)).toBe(true); expect(take()).toBe(2);
    expect(put(p, 100, 3, 0xc)).toBe(true);
    expect(toHex(bytes.subarray(960, 962))).toBe('0000');
    expect(toHex(bytes.subarray(0, 8))).toBe('6c00030000000000');
    expect(toHex(bytes.subarray(1024, 1028))).toBe('12000000');
    expect(toHex(bytes.subarray(1028, 1032))).toBe('0f000000');
    expect(toHex(bytes.subarray(1152, 1156))).toBe('0f000000');
    expect(c.frontAt()).toBe(8);
    expect(c.frontType).toBe(3);
    c.pop();
    expect(toHex(bytes.subarray(1152, 1156))).toBe('12000000');
  });
  it.each([8, 16, 64])('random model with mixed 1..4-block messages across the u32 wrap, N = %i', (N) => {
    const Q = N * 64;
    const { p, c } = mkRing(Q, 2 ** 32 - 3 * N);
    let seed = N * 7919;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
    const model: Array<[number, number]> = [];
    let sent = 0, got = 0, blocksDone = 0;
    while (blocksDone < 20 * N || model.length > 0) {
      if (rnd(2) === 0 && blocksDone < 20 * N) {
        const len = 1 + rnd(Math.min(248, (N / 2) * 64 - 8));
        const fill = sent & 0xff;
        const w = p.writeIdx, r = p.readIdx;
        const blocks = Math.ceil((len + 8) / 64);
        const pos = w & (N - 1), tail = N - pos;
        const need = blocks + (blocks > tail ? tail : 0);
        const free = N - ((w - r) >>> 0);
        const ok = put(p, len, 1 + (sent % 9), fill);
        expect(ok).toBe(need <= free);
        if (ok) { model.push([len, fill]); sent++; blocksDone += blocks; }
      } else {
        const off = c.frontAt();
        if (model.length === 0) { expect(off).toBe(-1); continue; }
        expect(off).toBeGreaterThanOrEqual(0);
        const [len, fill] = model.shift()!;
        expect(c.frontLength).toBe(len);
        expect(c.bytes.subarray(off, off + len).every((x) => x === fill)).toBe(true);
        c.pop(); got++;
      }
    }
    expect(got).toBe(sent);
    expect(c.validate()).toBe(0);
    put(p, 10, 1, 1); put(p, 100, 1, 1);
    expect(p.pendingMessages()).toBe(2);
    expect(c.validate()).toBe(2);
  });
  it('validation: each corruption is ERR_CORRUPT, never a loop', () => {
    const cases: Array<(b: Uint8Array, ix: Uint32Array) => void> = [
      (_b, ix) => { ix[0] = 100; },                      // write - read > N
      (b) => { b[0] = 5; },                               // size 1..7
      (b) => { b[0] = 0; b[1] = 0; },                     // marker at block 0
      (b) => { b[0] = 0xff; b[1] = 0x0f; },               // overruns write_idx
    ];
    for (const f of cases) {
      const { bytes, p } = mkRing(1024);
      put(p, 20, 1, 1);
      f(bytes, new Uint32Array(bytes.buffer, 1024, 64));
      const c = new RingConsumer(bytes, 'x');
      expect(() => c.validate()).toThrow(expect.objectContaining({ code: 'ERR_CORRUPT' }));
      expect(c.frontAt()).toBe(-1);
      expect(isTcpshmError(c.corrupt, 'ERR_CORRUPT')).toBe(true);
    }
  });
  it('a reference-style producer (early-published marker, stale read_idx_cache) is consumed; too-large is refused', () => {
    const { bytes, p, c } = mkRing(1024);
    const ix = new Uint32Array(bytes.buffer, 1024, 64);
    // reference producer: record at 14 (2 blocks), then a marker at 0? no: w=14 → record of 3 blocks needs wrap
    ix[0] = 14; ix[32] = 14; ix[1] = 3;
    const dv = new DataView(bytes.buffer);
    dv.setUint16(14 * 64, 0, true); ix[0] = 16;        // marker published early
    dv.setUint16(0, 150, true); dv.setUint16(2, 4, true); ix[0] = 19;
    c.resync();
    expect(c.frontAt()).toBe(8); expect(c.frontType).toBe(4); expect(c.frontLength).toBe(142); c.pop();
    expect(ix[32]).toBe(19);
    expect(() => p.allocAt(8 * 64, 1)).toThrow(expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE' }));
  });
});
