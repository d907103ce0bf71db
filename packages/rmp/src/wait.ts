/**
 * rmp's waiting, kept behind this one module so it can switch to shm-core's `Waiter` /
 * `DoorbellGroup` when they land. Built on shm-core's Doorbell (state words), WakeHandle (FIFO
 * watched by libuv: no thread, no CPU while parked) and futex (sync parks).
 *
 * Protocol (shm-core §5.14): the waiter adds 1 to the group's `parked` counter, stores its doorbell
 * state Parked*, re-checks for data, then sleeps; a producer stores its data, loads `parked` and,
 * only if it is non-zero, CASes each Parked doorbell to Awake: the CAS winner signals. One signal
 * per sleep however many producers; nothing at all while every reader is awake.
 */
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { availableParallelism } from 'node:os';
import { Doorbell, DoorbellState, futexWait, futexWake, type Segment, type WakeHandle } from '@shmkit/shm-core';
import { rmpError } from './errors.js';

// The wait settings type is shm-core's (same shape as rmp's former local one); rmp keeps its own
// resolution below because it also accepts spinSliceMs 0 and a per-call mode.
import type { WaitMode, WaitConfig } from '@shmkit/shm-core';
export type { WaitMode, WaitConfig };
export interface ResolvedWait { mode: WaitMode; spinBudgetUs: number; spinSliceMs: number; recheckMs: number }

export function resolveWait(c: WaitConfig | undefined): ResolvedWait {
  const mode = c?.mode ?? 'hybrid';
  if (mode !== 'spin' && mode !== 'hybrid' && mode !== 'block') throw rmpError('ERR_INVALID_ARGUMENT', `wait.mode must be spin, hybrid or block, got ${String(mode)}`);
  const num = (v: number | undefined, d: number, what: string) => {
    if (v === undefined) return d;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw rmpError('ERR_INVALID_ARGUMENT', `wait.${what} must be a number >= 0`);
    return v;
  };
  return {
    mode,
    spinBudgetUs: num(c?.spinBudgetUs, availableParallelism() > 1 ? 50 : 0, 'spinBudgetUs'),
    spinSliceMs: num(c?.spinSliceMs, 10, 'spinSliceMs'),
    recheckMs: Math.max(1, num(c?.recheckMs, 1000, 'recheckMs')),
  };
}

export interface WaitStats { parks: number; wakeups: number; spuriousWakeups: number }

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms` (sub-millisecond allowed). */
export function sleepSync(ms: number): void { if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms); }

function deadlineOf(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Infinity : performance.now() + Math.max(0, timeoutMs);
}

/** One reader's waiter: its doorbell (16 bytes at `bellOffset` in the readers segment). */
export class ReaderWaiter {
  readonly #seg: Segment;
  readonly #bellOffset: number;
  readonly #words: Int32Array;
  readonly #bell: Doorbell;
  readonly #parked: Int32Array;
  readonly #parkedIndex: number;
  readonly #wake: WakeHandle | undefined;
  readonly #cfg: ResolvedWait;
  readonly #pollMs: number;
  readonly stats: WaitStats;
  #closed = false;

  constructor(seg: Segment, bellOffset: number, parkedOffset: number, wake: WakeHandle | undefined,
    cfg: ResolvedWait, pollIntervalMs: number, stats: WaitStats) {
    this.#seg = seg; this.#bellOffset = bellOffset;
    this.#words = seg.int32(bellOffset, 4);
    this.#bell = Doorbell.at(seg, bellOffset);
    this.#parked = seg.int32(0, seg.size >> 2); this.#parkedIndex = parkedOffset >> 2;
    this.#wake = wake; this.#cfg = cfg; this.#pollMs = pollIntervalMs; this.stats = stats;
  }

  get config(): ResolvedWait { return this.#cfg; }

  claim(wakeId: number): void { this.#bell.claim(wakeId); }

  #inc(): void { Atomics.add(this.#parked, this.#parkedIndex, 1); }
  #dec(): void { if (!this.#seg.closed) decrementParked(this.#parked, this.#parkedIndex); }

  /** Async wait in `mode`; true when ready() held, false on timeout. */
  async wait(ready: () => boolean, opts: { mode?: WaitMode; signal?: AbortSignal; timeoutMs?: number; beforePark?: () => void } = {}): Promise<boolean> {
    const mode = opts.mode ?? this.#cfg.mode;
    const deadline = deadlineOf(opts.timeoutMs);
    const aborted = () => { if (opts.signal?.aborted) throw rmpError('ERR_ABORTED', 'wait aborted', undefined, opts.signal.reason); };
    aborted();
    if (ready()) return true;
    if (mode === 'spin' || mode === 'hybrid') {
      const budgetEnd = mode === 'spin' ? Infinity : performance.now() + this.#cfg.spinBudgetUs / 1000;
      let slice = performance.now() + this.#cfg.spinSliceMs;
      for (;;) {
        if (ready()) return true;
        const now = performance.now();
        if (now >= deadline) return false;
        if (now >= budgetEnd) break;
        if (now >= slice) { await yieldTurn(); aborted(); if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed while waiting'); slice = performance.now() + this.#cfg.spinSliceMs; }
      }
    }
    // park
    opts.beforePark?.();
    if (this.#wake === undefined) {
      // notifier 'none': timer polling, the doorbell is never parked (writers never signal us)
      for (;;) {
        if (ready()) return true;
        const remaining = deadline - performance.now();
        if (remaining <= 0) return false;
        await new Promise((r) => setTimeout(r, Math.min(this.#pollMs, remaining)));
        aborted();
        if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed while waiting');
      }
    }
    this.stats.parks++;
    this.#inc();
    try {
      const remaining = deadline - performance.now();
      const ok = await this.#bell.park(ready, this.#wake, {
        timeoutMs: remaining === Infinity ? undefined : Math.max(0, remaining), signal: opts.signal, recheckMs: this.#cfg.recheckMs,
      });
      if (ok) this.stats.wakeups++;
      return ok;
    } catch (e) {
      // the segment was closed under a pending wait: its views are detached
      if (this.#seg.closed || this.#closed) throw rmpError('ERR_CLOSED', 'reader closed while waiting', undefined, e);
      if ((e as { code?: string }).code === 'ERR_ABORTED') throw rmpError('ERR_ABORTED', 'wait aborted', undefined, opts.signal?.reason);
      if ((e as { code?: string }).code === 'ERR_CLOSED') throw rmpError('ERR_CLOSED', 'reader closed while waiting');
      throw e;
    } finally { this.#dec(); }
  }

  /** Blocking wait: spin, then park on the futex of the doorbell word (state ParkedFutex). */
  waitSync(ready: () => boolean, opts: { mode?: WaitMode; timeoutMs?: number; beforePark?: () => void } = {}): boolean {
    const mode = opts.mode ?? this.#cfg.mode;
    const deadline = deadlineOf(opts.timeoutMs);
    if (ready()) return true;
    if (mode === 'spin' || mode === 'hybrid') {
      const budgetEnd = mode === 'spin' ? Infinity : performance.now() + this.#cfg.spinBudgetUs / 1000;
      for (;;) {
        if (ready()) return true;
        const now = performance.now();
        if (now >= deadline) return false;
        if (now >= budgetEnd) break;
      }
    }
    opts.beforePark?.();
    this.stats.parks++;
    for (;;) {
      this.#inc();
      Atomics.store(this.#words, 0, DoorbellState.ParkedFutex);
      try {
        if (ready()) return true;
        const remaining = deadline - performance.now();
        if (remaining <= 0) return false;
        const r = futexWait(this.#seg, this.#bellOffset, DoorbellState.ParkedFutex, Math.min(remaining, this.#cfg.recheckMs));
        if (ready()) { this.stats.wakeups++; return true; }
        if (r === 'woken') this.stats.spuriousWakeups++;
      } finally {
        Atomics.compareExchange(this.#words, 0, DoorbellState.ParkedFutex, DoorbellState.Awake);
        this.#dec();
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#words, 0, DoorbellState.Closed);
  }
}

/** `parked -= 1` without going below 0 (a crash may leave it one too high, never too low). */
export function decrementParked(words: Int32Array, index: number): void {
  for (;;) {
    const v = Atomics.load(words, index);
    if (v <= 0) return;
    if (Atomics.compareExchange(words, index, v, v - 1) === v) return;
  }
}

/** Reset a dead owner's doorbell to Awake, fixing `parked` if it was parked. */
export function repairDoorbell(words: Int32Array, bellIndex: number, parkedIndex: number): void {
  const s = Atomics.load(words, bellIndex);
  if ((s === DoorbellState.ParkedFd || s === DoorbellState.ParkedFutex) &&
      Atomics.compareExchange(words, bellIndex, s, DoorbellState.Awake) === s) decrementParked(words, parkedIndex);
  else Atomics.store(words, bellIndex, DoorbellState.Awake);
}

/**
 * Producer side: ring every parked doorbell among `count` slots (first at `firstBell`, `stride`
 * bytes apart). One load when nobody is parked. `resolve(slot, wakeId)` gives the signaller of a
 * FIFO-parked reader (or null). Returns the number of signals sent.
 */
export function ringParked(seg: Segment, words: Int32Array, parkedIndex: number, firstBell: number, stride: number,
  count: number, resolve: (slot: number, wakeId: number) => WakeHandle | null): number {
  if (Atomics.load(words, parkedIndex) === 0) return 0;
  let sent = 0;
  for (let s = 0; s < count; s++) {
    const off = firstBell + s * stride;
    const idx = off >> 2;
    const st = Atomics.load(words, idx);
    if (st === DoorbellState.ParkedFd) {
      if (Atomics.compareExchange(words, idx, st, DoorbellState.Awake) !== st) continue;
      Atomics.add(words, idx + 1, 1);
      const h = resolve(s, Atomics.load(words, idx + 3) >>> 0);
      if (h !== null && h.signal()) sent++;
    } else if (st === DoorbellState.ParkedFutex) {
      if (Atomics.compareExchange(words, idx, st, DoorbellState.Awake) !== st) continue;
      Atomics.add(words, idx + 1, 1);
      futexWake(seg, off, 1);
      sent++;
    }
  }
  return sent;
}
