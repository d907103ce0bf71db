/**
 * `@shmkit/rmp/introspect`: the read-only view `shmkit inspect/top` use (spec 3.3). Maps both segments
 * read-only, never locks, never claims a slot; every problem becomes a warning.
 * The contract types are shm-core's `Introspector` (shm-core §3.14), declared structurally here until
 * shm-core exports them on this branch.
 */
import { Segment, type PackageToken } from '@shmkit/shm-core';
import { KIND_READERS, KIND_RING, LAYOUT_MAJOR, READERS, RING, SLOT, SLOT_STRIDE, SLOTS_OFFSET, peerLiveness } from './layout.js';

export interface RmpInstanceRef { package: PackageToken; name: string; objects?: readonly unknown[] }
export interface RmpInspectResult {
  summary: Record<string, string | number | bigint | boolean | null>;
  sections: Array<{ title: string; fields?: Record<string, unknown>; columns?: string[]; rows?: Array<Record<string, unknown>> }>;
  warnings: string[];
}
export interface RmpCounterSnapshot {
  at: bigint; messages?: bigint; bytes?: bigint; overruns?: bigint; depth?: number; capacity?: number; readers?: number;
}

interface Mapped { ring: Segment; readers: Segment; close(): void }
function mapBoth(ref: RmpInstanceRef): Mapped {
  const pkg = ref.package;
  const ring = Segment.open({ package: pkg, name: ref.name, part: 'ring', kind: KIND_RING, layoutMajor: LAYOUT_MAJOR, readonly: true });
  try {
    const readers = Segment.open({ package: pkg, name: ref.name, part: 'readers', kind: KIND_READERS, layoutMajor: LAYOUT_MAJOR, readonly: true });
    return { ring, readers, close: () => { ring.close(); readers.close(); } };
  } catch (e) { ring.close(); throw e; }
}

function snapshot(m: Mapped) {
  const rb = new BigUint64Array(m.ring.buffer, 0, 512);
  const rd = m.readers.int32(0, m.readers.size >> 2);
  const rdb = new BigUint64Array(m.readers.buffer, 0, m.readers.size >> 3);
  const dv = m.ring.dataView(0, 4096);
  const S = Number(dv.getBigUint64(RING.ringSize, true));
  const maxReaders = Math.min(dv.getUint32(RING.maxReaders, true), (m.readers.size - SLOTS_OFFSET) / SLOT_STRIDE);
  const g = (f: number) => Atomics.load(rb, f >> 3);
  const ah = Atomics.load(rd, READERS.allocHigh >> 2);
  const n = Math.max(0, Math.min(ah, maxReaders));
  const F = g(RING.freePos);
  const slots = [];
  for (let s = 0; s < n; s++) {
    const base = SLOTS_OFFSET + SLOT_STRIDE * s;
    const pid = Atomics.load(rd, (base + SLOT.pid) >> 2) >>> 0;
    const st = Atomics.load(rdb, (base + SLOT.startTime) >> 3);
    const bell = Atomics.load(rd, (base + SLOT.doorbell) >> 2);
    const position = Atomics.load(rdb, (base + SLOT.position) >> 3);
    slots.push({
      slot: s, pid, alive: pid === 0 ? 'unknown' : peerLiveness(pid, st), active: Atomics.load(rd, (base + SLOT.isActive) >> 2) === 1,
      doorbell: bell === 1 ? 'parked-fd' : bell === 2 ? 'parked-futex' : bell === 3 ? 'closed' : 'awake',
      position, lag: BigInt.asIntN(64, F - position), expired: Atomics.load(rdb, (base + SLOT.expiredCount) >> 3),
    });
  }
  return { S, maxReaders, F, R: g(RING.reserveEnd), seq: g(RING.commitSeq), g, slots,
    parked: Atomics.load(rd, READERS.parked >> 2), expiredReads: Atomics.load(rdb, READERS.expiredReads >> 3) };
}

/** An introspector for rmp channels named under `pkg` (layered packages: `topic`). */
export function makeIntrospector(pkg: PackageToken) {
  return {
  package: pkg,
  partPattern: /^(ring|readers|wake-\d+)$/,
  async inspect(ref: RmpInstanceRef, _opts: { raw: boolean } = { raw: false }): Promise<RmpInspectResult> {
    const m = mapBoth(ref);
    try {
      const s = snapshot(m);
      const warnings: string[] = [];
      if (BigInt.asIntN(64, s.R - s.F) > 0n) warnings.push(`abandoned write: reserveEnd ${s.R} > freePos ${s.F} (a writer died or a fill threw mid-record)`);
      const parkedBells = s.slots.filter((r) => r.doorbell === 'parked-fd' || r.doorbell === 'parked-futex').length;
      if (s.parked > parkedBells) warnings.push(`parked counter ${s.parked} is higher than the ${parkedBells} parked doorbells`);
      for (const r of s.slots) if (r.active && r.alive === 'dead') warnings.push(`slot ${r.slot}: active but its process ${r.pid} is dead`);
      return {
        summary: {
          ringSize: s.S, freePos: s.F, reserveEnd: s.R, messages: s.seq,
          activeReaders: s.slots.filter((r) => r.active).length, maxReaders: s.maxReaders, parked: s.parked,
          writerDeaths: s.g(RING.writerDeaths), overwrites: s.g(RING.overwrites), abandonedBytes: s.g(RING.abandonedBytes), expiredReads: s.expiredReads,
        },
        sections: [{ title: 'readers', columns: ['slot', 'pid', 'alive', 'active', 'doorbell', 'position', 'lag', 'expired'], rows: s.slots }],
        warnings,
      };
    } finally { m.close(); }
  },
  openCounters(ref: RmpInstanceRef): { read(): RmpCounterSnapshot; close(): void } | null {
    const m = mapBoth(ref);
    return {
      read() {
        const s = snapshot(m);
        let min = s.F;
        for (const r of s.slots) if (r.active && r.alive !== 'dead' && BigInt.asIntN(64, r.position - min) < 0n) min = r.position;
        return { at: process.hrtime.bigint(), messages: s.seq, bytes: s.F, depth: Number(BigInt.asIntN(64, s.F - min)), capacity: s.S,
          overruns: s.expiredReads, readers: s.slots.filter((r) => r.active).length };
      },
      close() { m.close(); },
    };
  },
  };
}

export const introspector = makeIntrospector('rmp');
