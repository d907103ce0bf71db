import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';
import type { Segment } from './segment.js';

export type FutexWaitResult = 'woken' | 'changed' | 'timeout';

function checkOffset(seg: Segment, offset: number): number {
  if (!Number.isInteger(offset) || offset % 4 !== 0) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `futex offset ${offset} is not a 4-aligned integer`, { details: { offset } });
  }
  return seg.address(offset);
}

/** Blocks the calling thread while the i32 at `offset` equals `expected`. 'woken' may be spurious.
 *  `timeoutMs` undefined, negative or Infinity: no timeout. */
export function futexWait(seg: Segment, offset: number, expected: number, timeoutMs?: number): FutexWaitResult {
  if (timeoutMs !== undefined && Number.isNaN(timeoutMs)) throw new ShmkitError('ERR_INVALID_ARGUMENT', 'futexWait timeoutMs is NaN');
  const addr = checkOffset(seg, offset);
  const ns = timeoutMs === undefined || timeoutMs < 0 || timeoutMs === Infinity ? -1 : Math.round(timeoutMs * 1e6);
  const r = native().futexWait(addr, expected >>> 0, ns);
  if (r === 0) return 'woken';
  if (r === -110) return 'timeout';
  if (r === -11) return 'changed';
  throw syscallError(r, 'futex', `futexWait ${seg.objectName}+${offset}`);
}
/** Wakes up to `count` (default 1) waiters on the i32 at `offset`; returns how many were woken. */
export function futexWake(seg: Segment, offset: number, count = 1): number {
  const addr = checkOffset(seg, offset);
  return Math.max(0, native().futexWake(addr, count));
}
/** One empty FFI call (the FFI floor benchmark). */
export function ffiNoop(): void { native().noop(); }
/** The CPU the calling thread runs on (recorded with benchmark figures). */
export function currentCpu(): number { return native().getcpu(); }
