import { availableParallelism } from 'node:os';
import { ShmkitError } from './errors.js';
import { futexWait, futexWake } from './futex.js';
import type { Segment } from './segment.js';
import { testPoint } from './testpoint.js';
import type { WaitOptions, WakeHandle } from './wake.js';

export const DOORBELL_SIZE = 16;
export const DoorbellState = { Awake: 0, ParkedFd: 1, ParkedFutex: 2, Closed: 3 } as const;
const AWAKE = 0, PARKED_FD = 1, PARKED_FUTEX = 2, CLOSED = 3;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface BellParts { seg: Segment; offset: number; words: Int32Array }
/** Module-private access to a doorbell's words for Waiter (not part of the public surface). */
const parts = new WeakMap<Doorbell, BellParts>();

function i32At(seg: Segment, offset: number, align: number, what: string, words: number): Int32Array {
  if (!Number.isInteger(offset) || offset < 0 || offset % align !== 0 || offset + words * 4 > seg.size) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `${what} offset ${String(offset)} must be ${align}-aligned and inside ${seg.objectName} (${seg.size} bytes)`,
      { details: { offset, size: seg.size } });
  }
  return seg.int32(offset, words);
}
/** Throws ERR_CLOSED (or the SIGBUS guard's ERR_SEGMENT_TRUNCATED where the segment offers assertUsable). */
function assertUsable(seg: Segment): void {
  const s = seg as Segment & { assertUsable?: () => void };
  if (typeof s.assertUsable === 'function') s.assertUsable();
  else void seg.buffer;
}

/** The sleeping-flag protocol (spec §4.2, §5.14): a producer signals only when the waiter said it is asleep. */
export class Doorbell {
  readonly #words: Int32Array;
  readonly #seg: Segment;
  readonly #offset: number;
  private constructor(seg: Segment, offset: number, words: Int32Array) {
    this.#seg = seg; this.#offset = offset; this.#words = words;
    parts.set(this, { seg, offset, words });
  }
  /** The 16-byte doorbell at `offset` (16-aligned) of `seg`. */
  static at(seg: Segment, offset: number): Doorbell {
    return new Doorbell(seg, offset, i32At(seg, offset, 16, 'doorbell', 4));
  }
  /** Waiter side, once: waiterPid = this process, wakeId, state Awake (stored last). */
  claim(wakeId: number): void {
    if (!Number.isInteger(wakeId) || wakeId < 0 || wakeId > 0xffffffff) throw new ShmkitError('ERR_INVALID_ARGUMENT', `wakeId must be a u32, got ${String(wakeId)}`);
    Atomics.store(this.#words, 2, process.pid); Atomics.store(this.#words, 3, wakeId | 0); Atomics.store(this.#words, 0, AWAKE);
  }
  get state(): 0 | 1 | 2 | 3 { return Atomics.load(this.#words, 0) as 0 | 1 | 2 | 3; }
  get signals(): number { return Atomics.load(this.#words, 1) >>> 0; }
  get waiterPid(): number { return Atomics.load(this.#words, 2) >>> 0; }
  get wakeId(): number { return Atomics.load(this.#words, 3) >>> 0; }
  /** Producer side, after its publishing store: signals iff the waiter is parked and this caller wins the CAS.
   *  Awake waiter: one Atomics.load, no syscall. Returns true if it signalled. */
  ring(signaller: WakeHandle | null): boolean {
    const w = this.#words;
    const s = Atomics.load(w, 0);
    if (s !== PARKED_FD && s !== PARKED_FUTEX) return false;
    if (Atomics.compareExchange(w, 0, s, AWAKE) !== s) return false;
    Atomics.add(w, 1, 1);
    if (s === PARKED_FUTEX) futexWake(this.#seg, this.#offset, 1);
    else signaller?.signal();
    return true;
  }
  /** @deprecated use a `Waiter` in mode 'block'. Parks on `wake` until `ready()` (false on timeout). */
  park(ready: () => boolean, wake: WakeHandle, opts: WaitOptions & { recheckMs?: number } = {}): Promise<boolean> {
    return new Waiter(this, wake, { mode: 'block', recheckMs: opts.recheckMs ?? 1000 }).wait(ready, opts);
  }
}

/** Many doorbells plus a shared i32 "parked" counter so producers skip the scan when nobody sleeps. */
export class DoorbellGroup {
  readonly #parked: Int32Array;
  readonly #bells: readonly Doorbell[];
  constructor(seg: Segment, parkedOffset: number, doorbells: readonly Doorbell[]) {
    this.#parked = i32At(seg, parkedOffset, 4, 'DoorbellGroup parked counter', 1);
    if (!Array.isArray(doorbells) || !doorbells.every((b) => b instanceof Doorbell)) {
      throw new ShmkitError('ERR_INVALID_ARGUMENT', 'DoorbellGroup needs an array of Doorbell');
    }
    this.#bells = [...doorbells];
  }
  /** How many waiters of the group announced they are parked (diagnostic; a hint, never exact). */
  get parked(): number { return Atomics.load(this.#parked, 0); }
  /** One Atomics.load when nobody is parked; else rings each parked doorbell. `resolve(wakeId)` is called only for
   *  FIFO/fd-parked waiters and gives their signaller. Returns how many doorbells this call signalled. */
  ringAll(resolve: (wakeId: number) => WakeHandle | null): number {
    if (Atomics.load(this.#parked, 0) === 0) return 0;
    let n = 0;
    for (const b of this.#bells) {
      const s = b.state;
      if (s === PARKED_FD) { if (b.ring(resolve(b.wakeId))) n++; }
      else if (s === PARKED_FUTEX) { if (b.ring(null)) n++; }
    }
    return n;
  }
}

export type WaitMode = 'spin' | 'hybrid' | 'block';
export interface WaiterOptions {
  /** Default 'hybrid'. */
  mode?: WaitMode;
  /** hybrid: spin this long before parking, default 50; forced to 0 when os.availableParallelism() < 2. */
  spinBudgetUs?: number;
  /** spin: yield one setImmediate turn to the event loop after this long, default 10. */
  spinSliceMs?: number;
  /** block/hybrid: re-run ready() after parking this long, default 1000; 0 = never. */
  recheckMs?: number;
  /** Maintain the "parked" counter of a DoorbellGroup (an i32 at parkedOffset of seg). */
  group?: { seg: Segment; parkedOffset: number };
}
/** The wait settings every receiving API of every package accepts, as `wait?: WaitConfig` in its options.
 *  Defaults are WaiterOptions': 'hybrid', 50 µs, 10 ms, 1000 ms. */
export type WaitConfig = Pick<WaiterOptions, 'mode' | 'spinBudgetUs' | 'spinSliceMs' | 'recheckMs'>;
export interface WaiterStats {
  checks: number; parks: number; wakes: number; spuriousWakes: number; timeouts: number;
  /** Signals a producer sent while this waiter's re-check after announcing already found the data (§5.14: the
   *  benign race). Each leaves a stale wake-up that a later wait drains as a spurious wake, so a doorbell's
   *  `signals` is at most `parks + lateSignals`, never more. */
  lateSignals: number;
}

function nonNeg(v: unknown, name: string, dflt: number, positive = false): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (positive && v === 0)) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `${name} must be a ${positive ? 'positive' : 'non-negative'} number, got ${String(v)}`, { details: { option: name } });
  }
  return v;
}
function checkTimeout(t: unknown): number {
  return nonNeg(t, 'timeoutMs', Infinity);
}
const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

/** Waits for a condition in shared memory in mode spin, hybrid (default) or block (spec §3.11, §5.15). */
export class Waiter implements Disposable {
  readonly stats: WaiterStats = { checks: 0, parks: 0, wakes: 0, spuriousWakes: 0, timeouts: 0, lateSignals: 0 };
  readonly mode: WaitMode;
  readonly #seg: Segment;
  readonly #offset: number;
  readonly #words: Int32Array;
  readonly #wake: WakeHandle | null;
  readonly #parked: Int32Array | undefined;
  readonly #budgetMs: number;
  readonly #sliceMs: number;
  readonly #recheckMs: number;
  #busy = false;
  #prepared = false;
  #closed = false;
  #closeAc: AbortController | undefined;

  /** `wake` may be null only for mode 'spin' or for waitSync (futex park). */
  constructor(doorbell: Doorbell, wake: WakeHandle | null, opts: WaiterOptions = {}) {
    const p = doorbell instanceof Doorbell ? parts.get(doorbell) : undefined;
    if (!p) throw new ShmkitError('ERR_INVALID_ARGUMENT', 'Waiter needs a Doorbell');
    const mode = opts.mode ?? 'hybrid';
    if (mode !== 'spin' && mode !== 'hybrid' && mode !== 'block') throw new ShmkitError('ERR_INVALID_ARGUMENT', `mode must be 'spin', 'hybrid' or 'block', got ${String(mode)}`, { details: { option: 'mode' } });
    if (wake !== null && (typeof wake !== 'object' || typeof (wake as WakeHandle).wait !== 'function')) throw new ShmkitError('ERR_INVALID_ARGUMENT', 'wake must be a WakeHandle or null');
    if (wake?.role === 'signaller') throw new ShmkitError('ERR_INVALID_ARGUMENT', 'wake must be a waiting WakeHandle, not a signaller');
    this.mode = mode;
    this.#seg = p.seg; this.#offset = p.offset; this.#words = p.words; this.#wake = wake;
    const budgetUs = nonNeg(opts.spinBudgetUs, 'spinBudgetUs', 50);
    this.#budgetMs = availableParallelism() < 2 ? 0 : budgetUs / 1000;
    this.#sliceMs = nonNeg(opts.spinSliceMs, 'spinSliceMs', 10, true);
    this.#recheckMs = nonNeg(opts.recheckMs, 'recheckMs', 1000);
    if (opts.group !== undefined) {
      const g = opts.group;
      if (typeof g !== 'object' || g === null) throw new ShmkitError('ERR_INVALID_ARGUMENT', 'group must be { seg, parkedOffset }');
      this.#parked = i32At(g.seg, g.parkedOffset, 4, 'group parked counter', 1);
    }
  }

  /** Resolves true as soon as ready() is true, false on timeout; rejects ERR_ABORTED, ERR_CLOSED, ERR_BUSY
   *  (a wait already pending). ready() must be cheap and side-effect free. */
  wait(ready: () => boolean, opts: WaitOptions = {}): Promise<boolean> {
    let timeoutMs: number;
    try {
      this.#enter(ready);
      timeoutMs = checkTimeout(opts.timeoutMs);
      if (opts.signal?.aborted) throw new ShmkitError('ERR_ABORTED', 'wait aborted', { cause: opts.signal.reason });
    } catch (e) { return Promise.reject(e); }
    this.stats.checks++;
    if (ready()) return Promise.resolve(true);
    if (this.mode !== 'spin' && this.#wake === null) return Promise.reject(new ShmkitError('ERR_INVALID_STATE', `a Waiter without a WakeHandle cannot park in wait() (mode '${this.mode}'); use waitSync`));
    return this.#run(ready, performance.now() + timeoutMs, opts.signal);
  }

  async #run(ready: () => boolean, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    this.#busy = true;
    try {
      if (this.mode === 'spin') return await this.#spinAsync(ready, deadline, signal);
      if (this.mode === 'hybrid' && this.#budgetMs > 0 && this.#spinUntil(ready, Math.min(deadline, performance.now() + this.#budgetMs))) return true;
      return await this.#parkLoop(ready, deadline, signal);
    } finally { this.#busy = false; }
  }

  /** Blocks the thread: spins per mode, then parks on a futex on the doorbell word. Never yields. */
  waitSync(ready: () => boolean, opts: { timeoutMs?: number } = {}): boolean {
    this.#enter(ready);
    const deadline = performance.now() + checkTimeout(opts.timeoutMs);
    this.stats.checks++;
    if (ready()) return true;
    if (this.mode === 'spin') {
      if (this.#spinUntil(ready, deadline)) return true;
      this.stats.timeouts++;
      return false;
    }
    if (this.mode === 'hybrid' && this.#budgetMs > 0 && this.#spinUntil(ready, Math.min(deadline, performance.now() + this.#budgetMs))) return true;
    for (;;) {
      const step = this.#announce(PARKED_FUTEX, ready, deadline);
      if (typeof step === 'boolean') return step;
      let r: string;
      try { r = futexWait(this.#seg, this.#offset, PARKED_FUTEX, step); }
      finally { this.#unpark(PARKED_FUTEX); }
      assertUsable(this.#seg);
      if (Atomics.load(this.#words, 0) === CLOSED) throw this.#closedError();
      const done = this.#afterSleep(ready, r !== 'timeout', deadline);
      if (done !== undefined) return done;
    }
  }

  /** Parks for an external reactor watching the wake handle's fd: §5.14 waiter steps 1–3 without sleeping.
   *  false: ready() was already true and nothing stays parked; true: parked until finishWait().
   *  Give it a WakeHandle that is never awaited with wait(): that handle's own poll watcher stays active and
   *  would consume the wake-up before the reactor sees the fd readable. */
  prepareWait(ready: () => boolean): boolean {
    this.#enter(ready);
    if (this.#wake === null) throw new ShmkitError('ERR_INVALID_STATE', 'prepareWait needs a WakeHandle');
    this.#park(PARKED_FD);
    this.stats.checks++;
    if (ready()) { if (this.#unpark(PARKED_FD)) this.stats.lateSignals++; return false; }
    this.#prepared = true;
    this.stats.parks++;
    return true;
  }
  /** Ends a prepareWait park (no-op if none): drains the wake handle, doorbell Awake, group counter −1. */
  finishWait(): void {
    if (!this.#prepared) return;
    this.#prepared = false;
    if (this.#wake!.drain() > 0) this.stats.wakes++;
    this.#unpark(PARKED_FD);
  }

  /** Doorbell → Closed (producers stop signalling); a pending wait rejects with ERR_CLOSED. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#prepared) { this.#prepared = false; this.#wake?.drain(); this.#unpark(PARKED_FD); }
    if (!this.#seg.closed) Atomics.store(this.#words, 0, CLOSED);
    this.#closeAc?.abort();
  }
  [Symbol.dispose](): void { this.close(); }

  #enter(ready: unknown): void {
    if (this.#closed) throw this.#closedError();
    if (typeof ready !== 'function') throw new ShmkitError('ERR_INVALID_ARGUMENT', 'ready must be a function');
    if (this.#busy || this.#prepared) throw new ShmkitError('ERR_BUSY', 'a wait is already pending on this Waiter');
    assertUsable(this.#seg);
  }
  #closedError(): ShmkitError { return new ShmkitError('ERR_CLOSED', 'Waiter closed'); }
  #live(signal: AbortSignal | undefined): void {
    if (this.#closed) throw this.#closedError();
    if (signal?.aborted) throw new ShmkitError('ERR_ABORTED', 'wait aborted', { cause: signal.reason });
    assertUsable(this.#seg);
  }
  #sleepMs(remaining: number): number {
    const t = this.#recheckMs === 0 ? remaining : Math.min(remaining, this.#recheckMs);
    return t === Infinity ? Infinity : Math.min(t, MAX_TIMER_MS);
  }
  /** §5.14 waiter steps 1–2. */
  #park(state: number): void {
    if (this.#parked) Atomics.add(this.#parked, 0, 1);
    Atomics.store(this.#words, 0, state);
    testPoint('shm-core.doorbell.afterParkFlag');
  }
  /** §5.14 step 5 (or the undo of steps 1–2): Awake unless a producer or close() changed it; group −1. */
  #unpark(state: number): boolean {
    if (this.#seg.closed) return false;
    const was = Atomics.compareExchange(this.#words, 0, state, AWAKE);
    if (this.#parked) Atomics.sub(this.#parked, 0, 1);
    return was === AWAKE;
  }
  /** Polls ready() until `until`; reads the clock every 64 checks. */
  #spinUntil(ready: () => boolean, until: number): boolean {
    const stats = this.stats;
    for (let i = 1; ; i++) {
      stats.checks++;
      if (ready()) return true;
      if ((i & 63) === 0 && performance.now() >= until) return false;
    }
  }
  async #spinAsync(ready: () => boolean, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    for (;;) {
      if (this.#spinUntil(ready, Math.min(deadline, performance.now() + this.#sliceMs))) return true;
      if (performance.now() >= deadline) { this.stats.timeouts++; return false; }
      await yieldTurn();
      this.#live(signal);
    }
  }
  async #parkLoop(ready: () => boolean, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    const wake = this.#wake!;
    const closeSignal = (this.#closeAc ??= new AbortController()).signal;
    for (;;) {
      this.#live(signal);
      const step = this.#announce(PARKED_FD, ready, deadline);
      if (typeof step === 'boolean') return step;
      let woke: boolean;
      try {
        woke = await wake.wait({ timeoutMs: step === Infinity ? undefined : step, signal: signal ? AbortSignal.any([signal, closeSignal]) : closeSignal });
      } catch (e) {
        if (this.#closed) throw this.#closedError();
        throw e;
      } finally { this.#unpark(PARKED_FD); }
      this.#live(undefined);
      const done = this.#afterSleep(ready, woke, deadline);
      if (done !== undefined) return done;
    }
  }
  /** §5.14 waiter steps 1–3: announce, re-check. true: ready (unparked); false: timed out (unparked);
   *  a number: stay parked and sleep that many ms. */
  #announce(state: number, ready: () => boolean, deadline: number): boolean | number {
    this.#park(state);
    this.stats.checks++;
    if (ready()) { if (this.#unpark(state)) this.stats.lateSignals++; return true; }
    const remaining = deadline - performance.now();
    if (remaining <= 0) { if (this.#unpark(state)) this.stats.lateSignals++; this.stats.timeouts++; return false; }
    this.stats.parks++;
    return this.#sleepMs(remaining);
  }
  /** After a sleep (step 5 done): counts the wake-up; true ready, false deadline passed, undefined park again. */
  #afterSleep(ready: () => boolean, woke: boolean, deadline: number): boolean | undefined {
    this.stats.checks++;
    const ok = ready();
    if (woke) { this.stats.wakes++; if (!ok) this.stats.spuriousWakes++; }
    if (ok) return true;
    if (performance.now() >= deadline) { this.stats.timeouts++; return false; }
    return undefined;
  }
}
