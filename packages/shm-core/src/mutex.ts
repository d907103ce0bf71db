import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';
import type { Segment } from './segment.js';
import { testPoint } from './testpoint.js';

export type LockResult = 'acquired' | 'recovered';

/** sizeof(pthread_mutex_t) in this process (`shk_mutex_size`): 40 on x86-64 glibc and musl, 48 on aarch64 glibc.
 *  Layouts that embed mutexes store it in their header and compare it at open. */
export function nativeMutexSize(): number { return native().mutexSize(); }

/** §5.11 step 5: the mutexes this thread holds belong to the mapped object, not to one Segment object: two
 *  `open`s of one object in one thread share one held set (keyed by the object's device and inode; offsets
 *  are the same in both mappings), so a mutex locked through one and unlocked through the other is free in
 *  both, and `heldByMe` agrees. close() refuses (ERR_BUSY) only the last open Segment of the object while this
 *  thread holds one of its mutexes: with another mapping open the mutex stays reachable and unlockable.
 *  A Segment that maps only a window of its object (fewer bytes than the object) keeps a set of its own.
 *  Module state is per thread: a worker thread loads its own copy of this module. */
interface Held { readonly held: Set<number>; readonly segs: Set<WeakRef<Segment>> }
const byObject = new Map<string, Held>();
const heldOf = new WeakMap<Segment, Held>();
const statScratch = new BigInt64Array(6);

/** `dev:ino` of the object `seg` maps whole, or undefined (closed, a window, or fstat failed). */
function objectKey(seg: Segment): string | undefined {
  const fd = seg.fd;
  if (fd < 0 || native().fstat(fd, statScratch) < 0 || Number(statScratch[0]) !== seg.size) return undefined;
  return `${statScratch[2]}:${statScratch[1]}`;
}
/** Drops collected and closed Segments; true if one is left. */
function pruned(h: Held): boolean {
  for (const r of h.segs) { const s = r.deref(); if (s === undefined || s.closed) h.segs.delete(r); }
  return h.segs.size > 0;
}
/** Every open Segment of the object refuses close() while this thread holds one of its mutexes. */
function publish(h: Held): void {
  for (const r of h.segs) { const s = r.deref(); if (s !== undefined && !s.closed) s.heldMutexes = h.held.size; }
}
function heldFor(seg: Segment): Held {
  let h = heldOf.get(seg);
  if (h) return h;
  const key = objectKey(seg);
  h = key === undefined ? undefined : byObject.get(key);
  // A set whose Segments are all closed or collected is dropped: the inode may now name another object.
  if (h && !pruned(h)) { byObject.delete(key!); h = undefined; }
  if (!h) { h = { held: new Set(), segs: new Set() }; if (key !== undefined) byObject.set(key, h); }
  h.segs.add(new WeakRef(seg));
  heldOf.set(seg, h);
  seg.heldMutexes = h.held.size;
  const held = h;
  seg.mappedElsewhere = () => {
    for (const r of held.segs) { const s = r.deref(); if (s !== undefined && s !== seg && !s.closed) return true; }
    return false;
  };
  return h;
}

/** A process-shared, robust, error-checking pthread mutex inside a segment (64 bytes reserved). */
export class RobustMutex {
  static readonly SIZE = 64;
  readonly #seg: Segment;
  readonly #offset: number;
  readonly #held: Held;

  private constructor(seg: Segment, offset: number) {
    if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0 || offset >= seg.size) {
      throw new ShmkitError('ERR_INVALID_ARGUMENT', `${seg.label}: mutex offset ${offset} is not an 8-aligned offset inside the segment`, { details: { offset } });
    }
    const size = native().mutexSize();
    if (offset + size > seg.size) {
      throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', `${seg.label}: mutex slot at ${offset} is smaller than pthread_mutex_t (${size} bytes)`, { details: { offset, mutexSize: size, segmentSize: seg.size } });
    }
    this.#seg = seg; this.#offset = offset;
    this.#held = heldFor(seg);
  }
  /** Creator only, inside CreateOptions.init. Slot must be ≥ shk_mutex_size() and 8-aligned. */
  static init(seg: Segment, offset: number): RobustMutex {
    const m = new RobustMutex(seg, offset);
    const r = native().mutexInit(seg.address(offset));
    if (r < 0) throw syscallError(r, 'pthread_mutex_init', seg.label);
    return m;
  }
  static attach(seg: Segment, offset: number): RobustMutex { return new RobustMutex(seg, offset); }

  #result(r: number, op: string): LockResult | 'busy' | 'timeout' {
    if (r === 0 || r === 1) {
      this.#held.held.add(this.#offset); publish(this.#held);
      testPoint('shm-core.mutex.afterLock');
      return r === 0 ? 'acquired' : 'recovered';
    }
    if (r === 2) return 'busy';
    if (r === 3) return 'timeout';
    if (r === -131) throw new ShmkitError('ERR_MUTEX_NOT_RECOVERABLE', `${this.#seg.label}: mutex not recoverable`, { errno: 131, syscall: op });
    if (r === -35) throw new ShmkitError('ERR_MUTEX_DEADLOCK', `${this.#seg.label}: mutex already held by this thread`, { errno: 35, syscall: op });
    throw syscallError(r, op, this.#seg.label);
  }
  /** Blocks until held. 'recovered': the previous owner died holding it; repair protected state before unlock(). */
  lock(): LockResult { return this.#result(native().mutexLock(this.#seg.address(this.#offset)), 'pthread_mutex_lock') as LockResult; }
  /** 'busy' while another thread holds it; like lock(), a mutex this thread already holds is ERR_MUTEX_DEADLOCK (§5.11 step 3). */
  tryLock(): LockResult | 'busy' {
    // glibc reports EDEADLK for a robust error-checking mutex; a libc that says EBUSY gets the same answer.
    const r = native().mutexTrylock(this.#seg.address(this.#offset));
    return this.#result(r === 2 && this.#held.held.has(this.#offset) ? -35 : r, 'pthread_mutex_trylock') as LockResult | 'busy';
  }
  /** As lock(), but gives up with 'timeout' after timeoutMs (CLOCK_MONOTONIC deadline). */
  timedLock(timeoutMs: number): LockResult | 'timeout' {
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw new ShmkitError('ERR_INVALID_ARGUMENT', `timedLock: timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
    return this.#result(native().mutexTimedlock(this.#seg.address(this.#offset), Math.round(timeoutMs * 1e6)), 'pthread_mutex_clocklock') as LockResult | 'timeout';
  }
  /** @deprecated the spec's name is {@link timedLock}; kept for @shmkit/rmp. */
  lockTimeout(timeoutMs: number): LockResult | 'timeout' { return this.timedLock(timeoutMs); }
  unlock(): void {
    const r = native().mutexUnlock(this.#seg.address(this.#offset));
    if (r === -1) throw new ShmkitError('ERR_MUTEX_NOT_OWNER', `${this.#seg.label}: unlock by a non-owner`, { errno: 1, syscall: 'pthread_mutex_unlock' });
    if (r < 0) throw syscallError(r, 'pthread_mutex_unlock', this.#seg.label);
    if (this.#held.held.delete(this.#offset)) publish(this.#held);
  }
  /** lock → fn(recovered) → unlock (also on throw). A thenable result → unlock, then ERR_ASYNC_IN_LOCK. */
  withLock<T>(fn: (recovered: boolean) => T): T {
    const recovered = this.lock() === 'recovered';
    let out: T;
    try { out = fn(recovered); } finally { this.unlock(); }
    if (out !== null && (typeof out === 'object' || typeof out === 'function') && typeof (out as { then?: unknown }).then === 'function') {
      try { (out as unknown as { then(a: unknown, b: unknown): unknown }).then(undefined, () => {}); } catch { /* reported by the throw below */ }
      throw new ShmkitError('ERR_ASYNC_IN_LOCK', 'withLock callback returned a thenable');
    }
    return out;
  }
  /** True while this thread holds the mutex (through any RobustMutex of any Segment of the mapped object). */
  get heldByMe(): boolean { return this.#held.held.has(this.#offset); }
  /** Owner tid or 0 (diagnostic only). */
  ownerTid(): number { return native().mutexOwner(this.#seg.address(this.#offset)); }
}
