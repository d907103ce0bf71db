import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAll, spawnFixture, uniqueName } from '@shmkit/testkit';
import { RmpChannel } from '../src/index.js';
import { RING, READERS, SLOT, SLOTS_OFFSET, SLOT_STRIDE, nativeMutexSize, RING_LAYOUT, READERS_LAYOUT, SLOT_LAYOUT } from '../src/layout.js';
import { channelId, cleanup, fixture, fresh, track } from './helpers.js';

afterEach(() => { killAll(); cleanup(); });

/** Hex rows ("offset: 16 bytes") of the non-zero 16-byte rows, volatile fields masked. */
function image(ch: RmpChannel): string {
  const mask = (buf: Uint8Array, ranges: Array<[number, number]>) => { const b = buf.slice(); for (const [a, z] of ranges) b.fill(0, a, z); return b; };
  const ringRanges: Array<[number, number]> = [[24, 28], [32, 40], [88, 96], [RING.writerLock, RING.writerLock + 64]];
  const rdRanges: Array<[number, number]> = [[24, 28], [32, 40], [READERS.channelId, READERS.channelId + 8]];
  for (let s = 0; s < ch.maxReaders; s++) rdRanges.push([SLOTS_OFFSET + SLOT_STRIDE * s + SLOT.lock, SLOTS_OFFSET + SLOT_STRIDE * (s + 1)]);
  const rows = (name: string, b: Uint8Array) => {
    const out: string[] = [];
    for (let o = 0; o < b.length; o += 16) {
      const row = b.subarray(o, o + 16);
      if (row.some((x) => x !== 0)) out.push(`${name} ${o.toString(16).padStart(5, '0')}: ${Buffer.from(row).toString('hex')}`);
    }
    return out;
  };
  return [...rows('ring', mask(ch._core.ringSeg.uint8(0, 4096 + ch.ringSize), ringRanges)),
    ...rows('readers', mask(ch._core.readersSeg.uint8(0, ch._core.readersSeg.size), rdRanges))].join('\n') + '\n';
}

describe('layout (1, 2)', () => {
  it('1: create initialises every field of section 4', () => {
    const { ch } = fresh('init1');
    const ring = ch._core.ringSeg.dataView(), rd = ch._core.readersSeg.dataView();
    expect(ring.getUint32(0, true)).toBe(0x4b4d4853);
    expect([ring.getUint16(4, true), ring.getUint16(6, true), ring.getUint16(8, true), ring.getUint16(10, true)]).toEqual([2, 1, 1, 0]);
    expect([rd.getUint16(4, true), rd.getUint16(6, true)]).toEqual([2, 2]);
    expect(ring.getBigUint64(16, true)).toBe(4096n + 1024n);
    expect(rd.getBigUint64(16, true)).toBe(256n + 3n * 128n);
    expect(ring.getUint32(28, true)).toBe(64);
    expect(ring.getUint32(24, true)).toBe(process.pid);
    expect(ring.getBigUint64(RING.ringSize, true)).toBe(1024n);
    expect(ring.getUint32(RING.maxPayload, true)).toBe(1016);
    expect(ring.getUint32(RING.mutexSize, true)).toBe(nativeMutexSize());
    if (process.arch === 'x64') expect(nativeMutexSize()).toBe(40);
    expect(ring.getUint32(RING.maxReaders, true)).toBe(3);
    expect(ring.getUint32(RING.defaultNotifier, true)).toBe(1);
    expect(ring.getUint32(RING.udpGroup, false)).toBe(0xefff4d01);
    expect(ring.getUint16(RING.udpPort, true)).toBe(37701);
    for (const f of [RING.freePos, RING.reserveEnd, RING.commitSeq, RING.backpressureEvents, RING.overwrites, RING.notifications,
      RING.writerDeaths, RING.abandonedBytes, RING.waitTimeouts, RING.deadReaderSkips]) expect(ring.getBigUint64(f, true)).toBe(0n);
    expect(rd.getBigUint64(READERS.channelId, true)).toBe(ring.getBigUint64(RING.channelId, true));
    expect(rd.getUint32(READERS.maxReaders, true)).toBe(3);
    expect(rd.getUint32(READERS.slotStride, true)).toBe(128);
    expect(rd.getUint32(READERS.slotsOffset, true)).toBe(256);
    expect(rd.getBigUint64(READERS.ringSize, true)).toBe(1024n);
    for (const f of [READERS.allocHigh, READERS.activeEpoch, READERS.parked]) expect(rd.getInt32(f, true)).toBe(0);
    ch.close();
  });
  it('2: golden layout image (ringSize 1024, maxReaders 3); a channel made by another process gives the same image', async () => {
    const { ch } = fresh('golden');
    const img = image(ch);
    const golden = fileURLToPath(new URL('./golden/layout-1024x3.txt', import.meta.url));
    if (!existsSync(golden) && process.env.RMP_WRITE_GOLDEN === '1') writeFileSync(golden, img);
    expect(img).toBe(readFileSync(golden, 'utf8'));
    const name = track(uniqueName('golden2'));
    const k = spawnFixture(fixture('creator.ts'), [name, 'create']);
    const idLine = await k.waitLine((l) => l.startsWith('created'));
    const other = RmpChannel.openSync(name);
    expect(idLine.split(' ')[2]).toBe(String(channelId(other)));
    expect(image(other)).toBe(img);
    other.close(); ch.close();
  });
});

/** (offset, size, field) of every non-reserved row of the spec's tables (§4.3, §4.4), copied by hand. */
const SPEC_RING = '0 64 header|64 8 ringSize|72 4 maxPayload|76 4 mutexSize|80 4 libcTag|84 4 maxReaders|88 8 channelId|96 4 defaultNotifier|100 4 udpGroup|104 2 udpPort|106 22 reserved0|128 8 freePos|136 8 reserveEnd|144 8 commitSeq|152 40 reserved1|192 64 writerLock|256 8 backpressureEvents|264 8 overwrites|272 8 notifications|280 8 writerDeaths|288 8 abandonedBytes|296 8 waitTimeouts|304 8 deadReaderSkips|312 3784 reserved2';
const SPEC_READERS = '0 64 header|64 4 maxReaders|68 4 slotStride|72 4 slotsOffset|76 4 mutexSize|80 4 libcTag|84 4 reserved0|88 8 channelId|96 8 ringSize|104 24 reserved1|128 4 allocHigh|132 4 activeEpoch|136 4 parked|140 4 reserved2|144 8 expiredReads|152 8 slotReclaims|160 32 reserved3|192 64 ext';
const SPEC_SLOT = '0 8 position|8 4 isActive|12 4 incarnation|16 16 doorbell|32 4 wakeKind|36 4 pid|40 4 threadId|44 4 pidNs|48 8 startTime|56 8 expiredCount|64 64 lock';

describe('layout constants (2)', () => {
  const rows = (md: string) => md.split('\n').slice(2).map((l) => { const c = l.split('|').map((x) => x.trim()); return `${c[1]} ${c[2]} ${c[4]!.replace(/`/g, '')}`; }).join('|');
  it('2: describe() of the ring, readers and slot layouts reproduces the tables of section 4; the offset constants agree', () => {
    expect(rows(RING_LAYOUT.describe())).toBe(SPEC_RING);
    expect(rows(READERS_LAYOUT.describe())).toBe(SPEC_READERS);
    expect(rows(SLOT_LAYOUT.describe())).toBe(SPEC_SLOT);
    expect([RING_LAYOUT.size, READERS_LAYOUT.size, SLOT_LAYOUT.size]).toEqual([4096, SLOTS_OFFSET, SLOT_STRIDE]);
    for (const [k, v] of Object.entries(RING)) expect([k, RING_LAYOUT.offsetOf(k as never)]).toEqual([k, v]);
    for (const [k, v] of Object.entries(READERS)) expect([k, READERS_LAYOUT.offsetOf(k as never)]).toEqual([k, v]);
    for (const [k, v] of Object.entries(SLOT)) expect([k, SLOT_LAYOUT.offsetOf(k as never)]).toEqual([k, v]);
  });
});
