// Helpers of the shm-core two-process roles: one segment, two sequence words on separate cache lines.
import { Segment, futexWait, futexWake } from '@shmkit/shm-core';
import type { ModeLabel } from '../api.js';

export const PING = 0, PONG = 16; // Int32 indices (byte offsets 0 and 64)
export const DATA = 128;
export const align64 = (n: number) => (n + 63) & ~63;
export function segmentSize(size: number): number { return Math.max(4096, Math.ceil((DATA + 2 * align64(size)) / 4096) * 4096); }
export function createSeg(name: string, size: number): Segment {
  return Segment.create({ package: 'benchmarks', name, layoutMajor: 1, size: segmentSize(size) });
}
export function openSeg(name: string): Segment { return Segment.open({ package: 'benchmarks', name, layoutMajor: 1 }); }

const HYBRID_SPINS = 2_000;
/** Word `idx + 1` counts the peers asleep on word `idx`, so a post makes the futex syscall only when needed. */
export function waitWord(seg: Segment, w: Int32Array, idx: number, v: number, mode: ModeLabel, deadline: number): void {
  let spins = 0;
  for (;;) {
    const cur = Atomics.load(w, idx);
    if (cur === v) return;
    if (mode === 'spin' || (mode === 'hybrid' && spins < HYBRID_SPINS)) {
      if ((++spins & 0xfffff) === 0 && Date.now() > deadline) throw new Error(`peer stalled (word ${idx} = ${cur}, want ${v})`);
      continue;
    }
    Atomics.add(w, idx + 1, 1);
    // Re-check after announcing the sleep (seq-cst): a post either sees the sleeper or is seen here.
    if (Atomics.load(w, idx) === cur) futexWait(seg, idx * 4, cur, 100);
    Atomics.sub(w, idx + 1, 1);
    if (Date.now() > deadline) throw new Error(`peer stalled (word ${idx} = ${Atomics.load(w, idx)}, want ${v})`);
  }
}
export function postWord(seg: Segment, w: Int32Array, idx: number, v: number, mode: ModeLabel): void {
  Atomics.store(w, idx, v);
  if (mode !== 'spin' && Atomics.load(w, idx + 1) > 0) futexWake(seg, idx * 4, 1);
}
