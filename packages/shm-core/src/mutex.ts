import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';
import type { Segment } from './segment.js';

export type LockResult = 'acquired' | 'recovered';

/** A process-shared, robust, error-checking pthread mutex inside a segment (64 bytes reserved). */
export class RobustMutex {
  static readonly SIZE = 64;
  readonly #seg: Segment;
  readonly #offset: number;

  private constructor(seg: Segment, offset: number) {
    if (offset % 8 !== 0 || offset + RobustMutex.SIZE > seg.size) throw new ShmkitError('ERR_INVALID_ARGUMENT', `mutex offset ${offset} not 8-aligned inside the segment`);
    this.#seg = seg; this.#offset = offset;
  }
  /** Initialises the mutex memory; call once, in the segment's `init`. */
  static init(seg: Segment, offset: number): RobustMutex {
    const m = new RobustMutex(seg, offset);
    const r = native().mutexInit(seg.address(offset));
    if (r < 0) throw syscallError(r, 'pthread_mutex_init', seg.label);
    return m;
  }
  static attach(seg: Segment, offset: number): RobustMutex { return new RobustMutex(seg, offset); }

  #result(r: number, op: string): LockResult | 'busy' | 'timeout' {
    if (r === 0) { this.#seg.heldMutexes++; return 'acquired'; }
    if (r === 1) { this.#seg.heldMutexes++; return 'recovered'; }
    if (r === 2) return 'busy';
    if (r === 3) return 'timeout';
    if (r === -131) throw new ShmkitError('ERR_MUTEX_NOT_RECOVERABLE', `${this.#seg.label}: mutex not recoverable`, { errno: 131, syscall: op });
    if (r === -35) throw new ShmkitError('ERR_MUTEX_DEADLOCK', `${this.#seg.label}: mutex already held by this thread`, { errno: 35, syscall: op });
    throw syscallError(r, op, this.#seg.label);
  }
  /** Blocks until held; 'recovered' when the previous owner died holding it. */
  lock(): LockResult { return this.#result(native().mutexLock(this.#seg.address(this.#offset)), 'pthread_mutex_lock') as LockResult; }
  tryLock(): LockResult | 'busy' { return this.#result(native().mutexTrylock(this.#seg.address(this.#offset)), 'pthread_mutex_trylock') as LockResult | 'busy'; }
  lockTimeout(timeoutMs: number): LockResult | 'timeout' {
    return this.#result(native().mutexTimedlock(this.#seg.address(this.#offset), Math.round(timeoutMs * 1e6)), 'pthread_mutex_clocklock') as LockResult | 'timeout';
  }
  unlock(): void {
    const r = native().mutexUnlock(this.#seg.address(this.#offset));
    if (r === -1) throw new ShmkitError('ERR_MUTEX_NOT_OWNER', `${this.#seg.label}: unlock by a non-owner`, { errno: 1, syscall: 'pthread_mutex_unlock' });
    if (r < 0) throw syscallError(r, 'pthread_mutex_unlock', this.#seg.label);
    this.#seg.heldMutexes--;
  }
  /** Runs a synchronous callback under the lock. */
  withLock<T>(fn: (state: LockResult) => T): T {
    const state = this.lock();
    try {
      const out = fn(state);
      if (out !== null && typeof out === 'object' && typeof (out as { then?: unknown }).then === 'function') {
        throw new ShmkitError('ERR_ASYNC_IN_LOCK', 'withLock callback returned a thenable');
      }
      return out;
    } finally { this.unlock(); }
  }
  /** Owner tid or 0 (diagnostic only). */
  owner(): number { return native().mutexOwner(this.#seg.address(this.#offset)); }
}
