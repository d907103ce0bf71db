import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '@shmkit/testkit';
import { COMMON_HEADER, defineLayout, Doorbell, isShmkitError, RobustMutex, Segment, type IntField, type BigField } from '../src/index.js';

let seg: Segment;
beforeAll(() => { seg = Segment.create({ package: 'testkit', name: uniqueName('layout'), layoutMajor: 1, size: 8192 }); });
afterAll(() => { seg.unlink(); seg.close(); });

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return isShmkitError(e) ? e.code : `not a ShmkitError: ${String(e)}`; }
  return undefined;
}
/** Small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => { seed |= 0; seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

describe('defineLayout', () => {
  it('places fields at the next naturally aligned offset and computes size and align', () => {
    const L = defineLayout('t.auto', {
      a: { type: 'u8' }, b: { type: 'u32' }, c: { type: 'u16' }, d: { type: 'u64', doc: 'a counter' },
      e: { type: 'bytes', length: 3 }, f: { type: 'doorbell' }, g: { type: 'i16', count: 3 },
    });
    expect(L.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['a', 0, 1], ['b', 4, 4], ['c', 8, 2], ['d', 16, 8], ['e', 24, 3], ['f', 32, 16], ['g', 48, 6],
    ]);
    expect(L.align).toBe(16);
    expect(L.size).toBe(64);
    expect(L.offsetOf('d')).toBe(16);
    expect(code(() => L.offsetOf('nope' as 'a'))).toBe('ERR_INVALID_ARGUMENT');
    expect(L.describe().split('\n')).toEqual([
      '| offset | size | type | field | doc |', '|---|---|---|---|---|',
      '| 0 | 1 | u8 | `a` |  |', '| 4 | 4 | u32 | `b` |  |', '| 8 | 2 | u16 | `c` |  |',
      '| 16 | 8 | u64 | `d` | a counter |', '| 24 | 3 | bytes | `e` |  |', '| 32 | 16 | doorbell | `f` |  |',
      '| 48 | 6 | i16[3] | `g` |  |',
    ]);
  });

  it('rejects misaligned, overlapping and out-of-size fields, bad counts and sizes (§7)', () => {
    const cases: Array<() => unknown> = [
      () => defineLayout('x', { a: { type: 'u32', offset: 2 } }),
      () => defineLayout('x', { a: { type: 'u64', offset: 4 } }),
      () => defineLayout('x', { a: { type: 'doorbell', offset: 8 } }),
      () => defineLayout('x', { a: { type: 'mutex', offset: 4 } }),
      () => defineLayout('x', { a: { type: 'u32', offset: 0 }, b: { type: 'u16', offset: 2 } }),
      () => defineLayout('x', { a: { type: 'u64', offset: 8, count: 2 }, b: { type: 'u32', offset: 20 } }),
      () => defineLayout('x', { a: { type: 'u64', offset: 8 } }, { size: 12 }),
      () => defineLayout('x', { a: { type: 'u64', offset: 8 } }, { size: 8 }),
      () => defineLayout('x', { a: { type: 'u32' } }, { size: 6 }),
      () => defineLayout('x', { a: { type: 'u32', count: 0 } }),
      () => defineLayout('x', { a: { type: 'bytes' } }),
      () => defineLayout('x', { a: { type: 'u128' as 'u64' } }),
      () => defineLayout('x', { a: { type: 'u32', offset: -4 } }),
      () => defineLayout('x', { a: { type: defineLayout('in', { q: { type: 'u64' } }), offset: 4 } }),
    ];
    for (const [i, c] of cases.entries()) expect([i, code(c)]).toEqual([i, 'ERR_INVALID_ARGUMENT']);
    const e = (() => { try { defineLayout('x', { first: { type: 'u32', offset: 0 }, second: { type: 'u8', offset: 3 } }); } catch (err) { return err as { details: Record<string, unknown>; message: string }; } })();
    expect(e!.details['field']).toBe('second');
    expect(e!.message).toContain('x.second');
  });

  it('every integer accessor op for every scalar type matches a plain DataView model', () => {
    const types = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32'] as const;
    const get = { u8: 'getUint8', i8: 'getInt8', u16: 'getUint16', i16: 'getInt16', u32: 'getUint32', i32: 'getInt32' } as const;
    const set = { u8: 'setUint8', i8: 'setInt8', u16: 'setUint16', i16: 'setInt16', u32: 'setUint32', i32: 'setInt32' } as const;
    const rand = rng(12345);
    for (const t of types) {
      const L = defineLayout(`t.${t}`, { pad: { type: 'u8' }, v: { type: t } });
      const base = 1024;
      const acc = L.bind(seg, base).v as IntField;
      const off = base + L.offsetOf('v');
      const model = new DataView(new ArrayBuffer(8));
      const rd = () => model[get[t]](0, true);
      const wr = (x: number) => model[set[t]](0, x, true);
      const coerce = (x: number) => { const m = new DataView(new ArrayBuffer(8)); m[set[t]](0, x, true); return m[get[t]](0, true); };
      wr(0); acc.store(0);
      const num = () => Math.floor((rand() - 0.5) * 2 ** 33);
      for (let i = 0; i < 400; i++) {
        const op = Math.floor(rand() * 9);
        const a = num(), b = num();
        const prev = rd();
        let expected: number, got: number | undefined;
        switch (op) {
          case 0: acc.store(a); wr(a); expected = coerce(a); got = acc.load(); break;
          case 1: got = acc.add(a); wr(prev + a); expected = prev; break;
          case 2: got = acc.sub(a); wr(prev - a); expected = prev; break;
          case 3: got = acc.and(a); wr(prev & a); expected = prev; break;
          case 4: got = acc.or(a); wr(prev | a); expected = prev; break;
          case 5: got = acc.xor(a); wr(prev ^ a); expected = prev; break;
          case 6: got = acc.exchange(a); wr(a); expected = prev; break;
          case 7: { const e = rand() < 0.5 ? prev : a; got = acc.cas(e, b); if (coerce(e) === prev) wr(b); expected = prev; break; }
          default: got = acc.load(); expected = prev;
        }
        expect([t, op, got]).toEqual([t, op, expected]);
        expect([t, op, seg.view[get[t]](off, true)]).toEqual([t, op, rd()]);
      }
      expect(acc.array.length).toBeGreaterThan(acc.index);
    }
  });

  it('64-bit and f64 accessors, loadNumber bound (ERR_CORRUPT)', () => {
    const L = defineLayout('t.big', { u: { type: 'u64' }, i: { type: 'i64' }, f: { type: 'f64' } });
    const b = L.bind(seg, 2048);
    const u = b.u as BigField, i = b.i as BigField;
    u.store(5);
    expect(u.add(3n)).toBe(5n);
    expect(u.load()).toBe(8n);
    expect(u.exchange(2n ** 64n - 1n)).toBe(8n);
    expect(u.add(1)).toBe(2n ** 64n - 1n);
    expect(u.load()).toBe(0n);
    expect(u.cas(1n, 9n)).toBe(0n);
    expect(u.cas(0, 9)).toBe(0n);
    expect(u.loadNumber()).toBe(9);
    expect(seg.view.getBigUint64(2048, true)).toBe(9n);
    i.store(-7n);
    expect(seg.view.getBigInt64(2056, true)).toBe(-7n);
    expect(i.loadNumber()).toBe(-7);
    u.store(2n ** 53n);
    expect(code(() => u.loadNumber())).toBe('ERR_CORRUPT');
    b.f.set(1.5);
    expect(seg.view.getFloat64(2064, true)).toBe(1.5);
    expect(b.f.get()).toBe(1.5);
  });

  it('arrays, nested layouts, bytes, doorbells and mutexes; decode gives a snapshot', () => {
    const Slot = defineLayout('t.slot', { seq: { type: 'u32' }, len: { type: 'u16' } });
    expect([Slot.size, Slot.align]).toEqual([8, 4]);
    const L = defineLayout('t.nest', {
      lock: { type: 'mutex', offset: 0, doc: 'writer lock' },
      head: { type: 'u64', offset: 64 },
      slots: { type: Slot, count: 4 },
      name: { type: 'bytes', length: 8 },
      bells: { type: 'doorbell', count: 2 },
      ticks: { type: 'i32', count: 3 },
    }, { size: 192 });
    expect(L.offsetOf('slots')).toBe(72);
    expect(L.offsetOf('name')).toBe(104);
    expect(L.offsetOf('bells')).toBe(112);
    const base = 4096;
    RobustMutex.init(seg, base);
    const b = L.bind(seg, base);
    expect(b.slots.length).toBe(4);
    b.slots.at(2).seq.store(77);
    b.slots.at(3).len.store(0xffff + 2);
    expect(b.slots.at(2)).toBe(b.slots.at(2)); // elements are cached
    expect(seg.view.getUint32(base + 72 + 16, true)).toBe(77);
    expect(code(() => b.slots.at(4))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => b.slots.at(-1))).toBe('ERR_INVALID_ARGUMENT');
    b.name.bytes.set([104, 105]);
    expect(b.name.offset).toBe(base + 104);
    expect(seg.bytes[base + 105]).toBe(105);
    expect(b.bells.at(1)).toBeInstanceOf(Doorbell);
    b.bells.at(1).claim(9);
    b.ticks.at(2).add(-3);
    expect(b.lock).toBeInstanceOf(RobustMutex);
    expect(b.lock.lock()).toBe('acquired');
    const snap = L.decode(seg, base);
    b.lock.unlock();
    expect(snap['head']).toBe(0n);
    expect((snap['slots'] as Array<Record<string, unknown>>)[2]).toEqual({ seq: 77, len: 0 });
    expect((snap['slots'] as Array<Record<string, unknown>>)[3]).toEqual({ seq: 0, len: 1 });
    expect(Array.from(snap['name'] as Uint8Array).slice(0, 3)).toEqual([104, 105, 0]);
    expect((snap['bells'] as Array<Record<string, unknown>>)[1]).toMatchObject({ state: 0, waiterPid: process.pid, wakeId: 9 });
    expect(snap['ticks']).toEqual([0, 0, -3]);
    expect((snap['lock'] as { ownerTid: number }).ownerTid).toBeGreaterThan(0);
    expect((L.decode(seg, base)['lock'] as { ownerTid: number }).ownerTid).toBe(0);
    const ro = L.bindReadonly(seg, base);
    expect(ro.slots.at(2).seq.load()).toBe(77);
    expect(ro.lock.ownerTid()).toBe(0);
    // @ts-expect-error read-only accessors have no store
    expect(ro.head.store).toBeDefined();
  });

  it('COMMON_HEADER documents itself as the §4.1 table and decodes a live header', () => {
    const rows = COMMON_HEADER.describe().split('\n').slice(2);
    expect(rows).toEqual([
      '| 0 | 4 | u8[4] | `magic` | `53 48 4D 4B` ("SHMK"); as a LE u32: `0x4B4D4853` |',
      '| 4 | 2 | u16 | `packageId` | §3.4 table |',
      '| 6 | 2 | u16 | `kind` | object kind, defined by the package (0 if it has one kind) |',
      '| 8 | 2 | u16 | `layoutMajor` | incompatible layout changes bump it; openers require equality |',
      '| 10 | 2 | u16 | `layoutMinor` | compatible additions (in reserved space); openers require ≥ their minimum |',
      '| 12 | 4 | i32 | `initialized` | 0 while building; `0x54494E49` ("INIT") ready, stored last; `0x44414544` ("DEAD") after `unlink()` |',
      '| 16 | 8 | u64 | `totalSize` | object size in bytes (= `fstat` size) |',
      '| 24 | 4 | u32 | `creatorPid` | pid of the creating process (in its pid namespace) |',
      "| 28 | 4 | u32 | `headerSize` | offset of the package's data; multiple of 8, 64 ≤ headerSize ≤ totalSize |",
      "| 32 | 8 | u64 | `creatorStartTime` | creator's start time, clock ticks after boot (field 22 of `/proc/<pid>/stat`) |",
    ]);
    expect(COMMON_HEADER.size).toBe(64);
    const h = COMMON_HEADER.decode(seg, 0);
    expect(h).toMatchObject({ magic: [0x53, 0x48, 0x4d, 0x4b], packageId: 100, initialized: 0x54494e49, totalSize: 8192n, creatorPid: process.pid, headerSize: 64 });
  });

  it('bind checks base alignment and the segment bounds (§7)', () => {
    const L = defineLayout('t.bounds', { a: { type: 'u64' } }, { size: 64 });
    expect(code(() => L.bind(seg, 8192 - 32))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => L.bind(seg, 4))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => L.bind(seg, -8))).toBe('ERR_INVALID_ARGUMENT');
    expect(L.bind(seg, 8192 - 64).a.load()).toBe(0n);
    const tiny = defineLayout('t.tiny-mutex', { m: { type: 'mutex', length: 8 } });
    expect(code(() => tiny.bind(seg, 0))).toBe('ERR_UNSUPPORTED_PLATFORM');
  });
});
