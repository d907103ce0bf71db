import { native } from './native.js';
import type { Segment } from './segment.js';

/** Waits while the u32 at `offset` equals `expected`: 'woken' | 'changed' | 'timeout'. */
export function futexWait(seg: Segment, offset: number, expected: number, timeoutMs = -1): 'woken' | 'changed' | 'timeout' {
  const r = native().futexWait(seg.address(offset), expected >>> 0, timeoutMs < 0 ? -1 : Math.round(timeoutMs * 1e6));
  return r === 0 ? 'woken' : r === -110 ? 'timeout' : 'changed';
}
/** Wakes up to `count` waiters on the u32 at `offset`; returns how many were woken. */
export function futexWake(seg: Segment, offset: number, count = 1): number {
  return Math.max(0, native().futexWake(seg.address(offset), count));
}
/** One empty FFI call (the FFI floor benchmark). */
export function ffiNoop(): void { native().noop(); }
/** The CPU the calling thread runs on (recorded with benchmark figures). */
export function currentCpu(): number { return native().getcpu(); }
