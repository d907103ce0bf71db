import { threadId } from 'node:worker_threads';
import { isShmkitError } from '@shmkit/shm-core';
import type { ChannelCore } from './channel.js';
import { rmpError } from './errors.js';
import { PAD_FLAG, RING, SLOT, peerLiveness, selfSlotIdentity } from './layout.js';
import { testPoint, testPointsEnabled } from './testpoints.js';
import { sleepSync } from './wait.js';

export interface BackpressureInfo {
  readonly slot: number;
  readonly readerPid: number;
  readonly readerPosition: bigint;
  readonly freePos: bigint;
  readonly needBytes: number;
  readonly lagBytes: number;
  readonly attempt: number;
  readonly waitedMs: number;
  readonly readerAlive: boolean | undefined;
  readonly sameThread: boolean;
}
export type BackpressureDecision = 'overwrite' | 'fail' | { retryAfterMs: number };
export type BackpressurePolicy =
  | { policy: 'overwrite' }
  | { policy: 'wait'; timeoutMs?: number; onTimeout?: 'overwrite' | 'throw' }
  | { policy: 'custom';
      decide: (info: BackpressureInfo) => BackpressureDecision | Promise<BackpressureDecision>;
      maxWaitMs?: number; onTimeout?: 'overwrite' | 'throw' };

export interface RmpWriterOptions {
  /** Default { policy: 'wait', timeoutMs: 10, onTimeout: 'overwrite' }. */
  backpressure?: BackpressurePolicy;
  /** Longest wait for the writer mutex; then ERR_TIMEOUT {what: 'writer-lock'}. Default 2000. */
  lockTimeoutMs?: number;
  /** Ring the doorbells of parked readers at the end of every write call. Default true. */
  notify?: boolean;
}
export interface RmpWriterStats {
  messages: number; bytes: number; backpressureEvents: number; waits: number;
  waitedMs: number; overwrites: number; waitTimeouts: number; deadReaderSkips: number;
  lockRecoveries: number; signals: number;
}

/** A fill callback: writes the payload in place at `[offset, offset + length)` of `ring`;
 *  `index` is the record's index in a `writeManyWith` batch (0 for single writes). */
export type FillFn = (ring: Uint8Array, offset: number, index: number) => void;
type Fill = FillFn;
type AsyncOpts = { signal?: AbortSignal; timeoutMs?: number };
const BLOCKED = -1;

/** What the policy loop asks its driver to do (sync: block the thread; async: await). */
type Step = { kind: 'sleep'; ms: number } | { kind: 'decide'; info: BackpressureInfo } | { kind: 'lock' };

const FREE = RING.freePos >> 3, RESERVE = RING.reserveEnd >> 3, COMMIT = RING.commitSeq >> 3;
const FREE_LO = RING.freePos >> 2, RESERVE_LO = RING.reserveEnd >> 2, COMMIT_LO = RING.commitSeq >> 2, COMMIT_HI = COMMIT_LO + 1;
/** BigInt of small record sizes, made once (no allocation per write). */
const NEED_BIG: bigint[] = Array.from({ length: 513 }, (_, k) => BigInt(k * 8));
function bigOf(need: number): bigint { return need <= 4096 ? NEED_BIG[need >> 3]! : BigInt(need); }

function d(a: bigint, b: bigint): bigint { return BigInt.asIntN(64, a - b); }
function max64(a: bigint, b: bigint): bigint { return d(a, b) >= 0n ? a : b; }

/** Appends messages to the channel's ring under the robust writer mutex. */
export class RmpWriter implements Disposable {
  readonly #c: ChannelCore;
  readonly #policy: BackpressurePolicy;
  readonly #lockTimeoutMs: number;
  readonly #notify: boolean;
  readonly #onClose: () => void;
  readonly #stats: RmpWriterStats = { messages: 0, bytes: 0, backpressureEvents: 0, waits: 0, waitedMs: 0, overwrites: 0, waitTimeouts: 0, deadReaderSkips: 0, lockRecoveries: 0, signals: 0 };
  /** Horizon cache (spec 5.4). */
  #cacheValid = false;
  #cacheEpoch = 0;
  #cacheMin = 0n;
  /** #cacheMin as u32 halves, for the Number-only check of the fast record path. */
  #cacheMinLo = 0;
  #cacheMinHi = 0;
  /** Dead readers this writer no longer waits for: slot -> incarnation. */
  readonly #ignore = new Map<number, number>();
  #blockSlot = -1;
  #blockPos = 0n;
  /** Index passed to the fill of the record being written (writeManyWith); no closure per record. */
  #idx = 0;
  #closed = false;

  constructor(core: ChannelCore, opts: RmpWriterOptions, onClose: () => void) {
    if (opts === null || typeof opts !== 'object') throw rmpError('ERR_INVALID_ARGUMENT', 'writer options must be an object');
    this.#c = core; this.#onClose = onClose;
    const p = opts.backpressure ?? { policy: 'wait' };
    if (p === null || typeof p !== 'object' || !['overwrite', 'wait', 'custom'].includes((p as { policy: string }).policy)) throw rmpError('ERR_INVALID_ARGUMENT', 'backpressure.policy must be overwrite, wait or custom');
    if (p.policy === 'custom' && typeof p.decide !== 'function') throw rmpError('ERR_INVALID_ARGUMENT', 'backpressure.decide must be a function');
    if (p.policy !== 'overwrite') {
      const t = p.policy === 'wait' ? p.timeoutMs : p.maxWaitMs;
      if (t !== undefined && (typeof t !== 'number' || !(t >= 0))) throw rmpError('ERR_INVALID_ARGUMENT', 'backpressure timeout must be >= 0');
      if (p.onTimeout !== undefined && p.onTimeout !== 'overwrite' && p.onTimeout !== 'throw') throw rmpError('ERR_INVALID_ARGUMENT', 'onTimeout must be overwrite or throw');
    }
    this.#policy = p;
    const lt = opts.lockTimeoutMs ?? 2000;
    if (typeof lt !== 'number' || !(lt >= 0)) throw rmpError('ERR_INVALID_ARGUMENT', 'lockTimeoutMs must be >= 0');
    this.#lockTimeoutMs = lt;
    this.#notify = opts.notify ?? true;
  }

  get stats(): Readonly<RmpWriterStats> { return this.#stats; }

  #check(): void { if (this.#closed) throw rmpError('ERR_CLOSED', 'writer closed'); }
  #validate(payload: Uint8Array): void {
    this.#check();
    if (!(payload instanceof Uint8Array)) throw rmpError('ERR_INVALID_ARGUMENT', 'payload must be a Uint8Array');
    if (payload.length > this.#c.maxPayload) throw rmpError('ERR_MESSAGE_TOO_LARGE', `payload of ${payload.length} bytes exceeds maxPayload ${this.#c.maxPayload}`, { size: payload.length, max: this.#c.maxPayload });
  }
  /** Validation of a fill-in-place length (writeWith family): integer in 0 ..= maxPayload. */
  #validateLen(length: number): void {
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw rmpError('ERR_INVALID_ARGUMENT', `length must be an integer >= 0, got ${String(length)}`);
    if (length > this.#c.maxPayload) throw rmpError('ERR_MESSAGE_TOO_LARGE', `payload of ${length} bytes exceeds maxPayload ${this.#c.maxPayload}`, { size: length, max: this.#c.maxPayload });
  }
  #validateFill(fill: unknown): void {
    if (typeof fill !== 'function') throw rmpError('ERR_INVALID_ARGUMENT', 'fill must be a function');
  }

  // ---- lock ----
  #afterLock(r: string): void {
    this.#c.lockCalls++;
    if (r === 'recovered') {
      const c = this.#c;
      c.addRing(RING.writerDeaths, 1);
      const gap = d(c.reserveEnd(), c.freePos());
      if (gap > 0n) c.addRing(RING.abandonedBytes, gap);
      this.#stats.lockRecoveries++;
      this.#cacheValid = false;
    }
    testPoint('rmp.write.afterLock');
  }
  #lockSync(): void {
    const r = this.#c.writerLock!.lockTimeout(this.#lockTimeoutMs);
    if (r === 'timeout') throw rmpError('ERR_TIMEOUT', `writer lock not acquired within ${this.#lockTimeoutMs} ms`, { what: 'writer-lock' });
    this.#afterLock(r);
  }
  async #lockAsync(signal: AbortSignal | undefined): Promise<void> {
    const end = performance.now() + this.#lockTimeoutMs;
    const lock = this.#c.writerLock!;
    for (;;) {
      const r = lock.tryLock();
      if (r !== 'busy') { this.#afterLock(r); return; }
      if (signal?.aborted) throw rmpError('ERR_ABORTED', 'write aborted', undefined, signal.reason);
      if (performance.now() >= end) throw rmpError('ERR_TIMEOUT', `writer lock not acquired within ${this.#lockTimeoutMs} ms`, { what: 'writer-lock' });
      const t = lock.lockTimeout(1);
      if (t !== 'timeout') { this.#afterLock(t); return; }
      await new Promise((res) => setImmediate(res));
    }
  }
  #unlock(): void { this.#c.writerLock!.unlock(); }

  // ---- backpressure detection (5.4) ----
  /** Slot of the reader that blocks a write ending at `E` (smallest position), or -1. */
  #blocked(E: bigint): number {
    const c = this.#c, S = BigInt(c.S);
    const ep = c.activeEpoch();
    if (this.#cacheValid && ep === this.#cacheEpoch && d(E, this.#cacheMin) <= S) return -1;
    c.scans++;
    const F = c.freePos();
    const R = max64(c.reserveEnd(), F);
    let minPos = F, worst = -1, worstPos = 0n;
    const n = c.scanCount();
    for (let s = 0; s < n; s++) {
      if (Atomics.load(c.ri32, c.slotI32(s, SLOT.isActive)) !== 1) continue;
      if (this.#ignore.size > 0) {
        const inc = this.#ignore.get(s);
        if (inc !== undefined) {
          if (inc === Atomics.load(c.ri32, c.slotI32(s, SLOT.incarnation))) continue;
          this.#ignore.delete(s);
        }
      }
      const p = c.slotPos(s);
      if (d(p, F) > 0n || d(R, p) > S) continue;
      if (d(E, p) > S && (worst < 0 || d(p, worstPos) < 0n)) { worst = s; worstPos = p; }
      if (d(p, minPos) < 0n) minPos = p;
    }
    this.#cacheValid = true; this.#cacheEpoch = ep; this.#cacheMin = minPos;
    this.#cacheMinLo = Number(BigInt.asUintN(32, minPos)); this.#cacheMinHi = Number(BigInt.asUintN(32, minPos >> 32n));
    this.#blockSlot = worst; this.#blockPos = worstPos;
    return worst;
  }

  // ---- one record (5.3), lock held ----
  #writeRecord(len: number, payload: Uint8Array | undefined, fill: Fill | undefined, honour: boolean): number {
    // Under the lock only lock holders store freePos / reserveEnd / commitSeq, so their low u32
    // halves can be read plainly (no BigInt needed for indices, alignment and seq32).
    const c = this.#c, S = c.S, rb = c.rb, h32 = c.rh32;
    // Fast path (no BigInt): reserveEnd == freePos, aligned, no PAD, no carry into the high halves, and
    // the horizon cache proves no reader blocks E. Then only low halves change, and a 32-bit atomic
    // store of a low half publishes the new 64-bit value (a 64-bit load sees the old or the new one).
    const need = 8 + ((len + 7) & ~7);
    const fLo = h32[FREE_LO]!, fHi = h32[FREE_LO + 1]!;
    if (fLo === h32[RESERVE_LO]! && fHi === h32[RESERVE_LO + 1]! && (fLo & 7) === 0 && fLo + need <= 0xffff_ffff &&
      need <= S - (fLo & c.mask) && this.#cacheValid && c.activeEpoch() === this.#cacheEpoch &&
      ((fHi - this.#cacheMinHi) | 0) * 4294967296 + (fLo + need - this.#cacheMinLo) <= S) {
      const eLo = fLo + need;
      Atomics.store(h32, RESERVE_LO, eLo);
      const seq = this.#fillAndCommit(fLo & c.mask, len, payload, fill, need);
      Atomics.store(h32, FREE_LO, eLo);
      testPoint('rmp.write.afterCommit');
      return seq;
    }
    let F = Atomics.load(rb, FREE);
    let R = Atomics.load(rb, RESERVE);
    let i: number;
    let rIsF = R === F;
    if ((!rIsF && d(R, F) < 0n) || ((h32[FREE_LO]! | h32[RESERVE_LO]!) & 7) !== 0) {
      const F2 = BigInt.asUintN(64, (F + 7n) & ~7n);
      const R2 = max64(BigInt.asUintN(64, (R + 7n) & ~7n), F2);
      c.addRing(RING.abandonedBytes, d(R2, F) > 0n ? d(R2, F) : 0n);
      Atomics.store(rb, FREE, F2); Atomics.store(rb, RESERVE, R2);
      F = F2; R = R2; rIsF = R === F; this.#cacheValid = false;
      i = Number(F & c.maskBig);
    } else i = h32[FREE_LO]! & c.mask;
    const r = S - i;
    if (need > r) {
      const padEnd = BigInt.asUintN(64, F + BigInt(r));
      if (honour && this.#blocked(padEnd) >= 0) return BLOCKED;
      R = rIsF ? padEnd : max64(R, padEnd);
      Atomics.store(rb, RESERVE, R);
      rIsF = R === padEnd;
      c.ring32[i >> 2] = (PAD_FLAG | (r - 8)) >>> 0;
      c.ring32[(i >> 2) + 1] = h32[COMMIT_LO]!;
      Atomics.store(rb, FREE, padEnd);
      F = padEnd; i = 0;
      testPoint('rmp.write.afterPadCommit');
    }
    const E = F + bigOf(need); // stores wrap mod 2^64; comparisons use d()
    if (this.#blocked(E) >= 0) {
      if (honour) return BLOCKED;
      c.addRing(RING.overwrites, 1); this.#stats.overwrites++;
    }
    Atomics.store(rb, RESERVE, rIsF ? E : max64(R, E));
    const seq = this.#fillAndCommit(i, len, payload, fill, need);
    Atomics.store(rb, FREE, E);
    testPoint('rmp.write.afterCommit');
    return seq;
  }

  /** 5.3 steps 6–8 after reserveEnd was stored: payload, header, commitSeq + 1; returns the seq. */
  #fillAndCommit(i: number, len: number, payload: Uint8Array | undefined, fill: Fill | undefined, need: number): number {
    const c = this.#c, rb = c.rb, h32 = c.rh32;
    testPoint('rmp.write.afterReserve');
    const at = i + 8;
    if (fill !== undefined) {
      try { fill(c.ring, at, this.#idx); } catch (e) {
        c.addRing(RING.abandonedBytes, need);
        throw e;
      }
    } else if (len > 0) {
      if (testPointsEnabled) {
        const half = len >> 1;
        c.ring.set(payload!.subarray(0, half), at);
        testPoint('rmp.write.midCopy');
        c.ring.set(payload!.subarray(half), at + half);
      } else c.ring.set(payload!, at);
    }
    const lo = h32[COMMIT_LO]!, hi = h32[COMMIT_HI]!;
    c.ring32[i >> 2] = len;
    c.ring32[(i >> 2) + 1] = lo;
    // commitSeq + 1: without a carry only the low half changes, so one 32-bit atomic store
    // publishes the new 64-bit value (a reader's 64-bit load sees the old or the new value)
    if (lo !== 0xffff_ffff) Atomics.store(h32, COMMIT_LO, lo + 1);
    else Atomics.store(rb, COMMIT, BigInt.asUintN(64, Atomics.load(rb, COMMIT) + 1n));
    testPoint('rmp.write.afterCommitSeq');
    this.#stats.messages++; this.#stats.bytes += len;
    return hi * 4294967296 + lo;
  }

  #ring(): void { if (this.#notify) this.#stats.signals += this.#c.ringReaders(); }

  // ---- policy loop (5.5), shared by the sync and async drivers ----
  #info(need: number, attempt: number, waitedMs: number): BackpressureInfo {
    const c = this.#c, s = this.#blockSlot;
    const pid = Atomics.load(c.ri32, c.slotI32(s, SLOT.pid)) >>> 0;
    const tid = Atomics.load(c.ri32, c.slotI32(s, SLOT.threadId));
    const ns = Atomics.load(c.ri32, c.slotI32(s, SLOT.pidNs)) >>> 0;
    const st = Atomics.load(c.rib, (c.slotBase(s) + SLOT.startTime) >> 3);
    const F = c.freePos();
    let alive: boolean | undefined;
    if (ns === selfSlotIdentity().pidNs) { const l = peerLiveness(pid, st); alive = l === 'alive' ? true : l === 'dead' ? false : undefined; }
    const lag = d(F, this.#blockPos);
    return { slot: s, readerPid: pid, readerPosition: this.#blockPos, freePos: F, needBytes: need,
      lagBytes: Number(lag > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : lag), attempt, waitedMs,
      readerAlive: alive, sameThread: pid === process.pid && tid === threadId };
  }

  #readerDead(slot: number): boolean {
    const c = this.#c;
    const pid = Atomics.load(c.ri32, c.slotI32(slot, SLOT.pid)) >>> 0;
    const st = Atomics.load(c.rib, (c.slotBase(slot) + SLOT.startTime) >> 3);
    return peerLiveness(pid, st) === 'dead';
  }

  /** Did the blocking reader move enough (or go away) since detection? Lock-free. */
  #progress(slot: number, inc: number, need: number): boolean {
    const c = this.#c;
    if (Atomics.load(c.ri32, c.slotI32(slot, SLOT.incarnation)) !== inc) return true;
    if (Atomics.load(c.ri32, c.slotI32(slot, SLOT.isActive)) !== 1) return true;
    const F = c.freePos(), p = c.slotPos(slot), S = BigInt(c.S);
    if (d(max64(c.reserveEnd(), F), p) > S) return true; // lapped by another writer meanwhile: re-detect
    return d(F + BigInt(need), p) <= S;
  }

  /**
   * Writes one record whose fast attempt was BLOCKED (the lock is released). Yields sleep or
   * decide steps; the driver performs them and resumes. Returns the seq.
   */
  *#slow(len: number, payload: Uint8Array | undefined, fill: Fill | undefined, sync: boolean, timeoutMs: number | undefined, idx = 0): Generator<Step, number, BackpressureDecision | undefined> {
    const c = this.#c, p = this.#policy;
    const start = performance.now();
    const budget = timeoutMs ?? (p.policy === 'wait' ? p.timeoutMs ?? 10 : p.policy === 'custom' ? p.maxWaitMs ?? 1000 : 0);
    const onTimeout = p.policy === 'wait' ? p.onTimeout ?? 'overwrite' : p.policy === 'custom' ? p.onTimeout ?? 'throw' : 'overwrite';
    const need = 8 + ((len + 7) & ~7);
    let honour = p.policy !== 'overwrite';
    let attempt = 0;
    for (;;) {
      // blocked: lock released by the caller
      c.addRing(RING.backpressureEvents, 1); this.#stats.backpressureEvents++;
      this.#ring();
      attempt++;
      const waited = performance.now() - start;
      const info = this.#info(need, attempt, waited);
      const slot = info.slot;
      const inc = Atomics.load(c.ri32, c.slotI32(slot, SLOT.incarnation));
      const timeout = (): void => {
        c.addRing(RING.waitTimeouts, 1); this.#stats.waitTimeouts++;
        if (onTimeout === 'throw') throw rmpError('ERR_WOULD_BLOCK', `reader in slot ${slot} blocks the write`, { ...info });
        honour = false;
      };
      if (p.policy === 'overwrite') honour = false;
      else if (p.policy === 'wait') {
        if (info.readerAlive === false) {
          this.#ignore.set(slot, inc); c.addRing(RING.deadReaderSkips, 1); this.#stats.deadReaderSkips++;
          this.#cacheValid = false;
        } else if (info.sameThread && sync) {
          if (onTimeout === 'throw') throw rmpError('ERR_WOULD_BLOCK', `reader in slot ${slot} lives on this thread`, { ...info });
          honour = false;
        } else {
          // wait (lock not held): spin 20 µs, then sleep 50 µs doubling to 1 ms
          this.#stats.waits++;
          const w0 = performance.now();
          let ok = false, sleep = 0.05;
          const spinEnd = w0 + 0.02;
          while (performance.now() < spinEnd) { if (this.#progress(slot, inc, need)) { ok = true; break; } }
          let lastAlive = performance.now();
          while (!ok) {
            const now = performance.now();
            if (now - start >= budget) break;
            yield { kind: 'sleep', ms: Math.min(sleep, budget - (now - start)) };
            sleep = Math.min(sleep * 2, 1);
            ok = this.#progress(slot, inc, need);
            // a reader that dies while we wait: re-detect at once (it is then skipped as dead)
            if (!ok && info.readerAlive === true && performance.now() - lastAlive >= 1) {
              lastAlive = performance.now();
              if (this.#readerDead(slot)) ok = true;
            }
          }
          this.#stats.waitedMs += performance.now() - w0;
          if (!ok) timeout();
        }
      } else {
        let dec: BackpressureDecision | Promise<BackpressureDecision> | undefined;
        if (sync) {
          dec = p.decide(info);
          if (dec !== null && typeof dec === 'object' && typeof (dec as { then?: unknown }).then === 'function') {
            (dec as Promise<unknown>).then(undefined, () => {});
            throw rmpError('ERR_INVALID_ARGUMENT', 'backpressure.decide returned a Promise inside a synchronous write()');
          }
        } else dec = yield { kind: 'decide', info };
        if (dec === 'overwrite') honour = false;
        else if (dec === 'fail') throw rmpError('ERR_WOULD_BLOCK', `reader in slot ${slot} blocks the write`, { ...info });
        else if (dec !== null && typeof dec === 'object' && typeof (dec as { retryAfterMs?: unknown }).retryAfterMs === 'number') {
          const left = budget - (performance.now() - start);
          if (left <= 0) timeout();
          else {
            this.#stats.waits++;
            const ms = Math.min(Math.max(0, (dec as { retryAfterMs: number }).retryAfterMs), left);
            const w0 = performance.now();
            yield { kind: 'sleep', ms };
            this.#stats.waitedMs += performance.now() - w0;
          }
        } else throw rmpError('ERR_INVALID_ARGUMENT', `backpressure.decide returned ${String(dec)}`);
      }
      yield { kind: 'lock' };
      this.#idx = idx; // another async call of this writer may have run meanwhile
      let res: number;
      try { res = this.#writeRecord(len, payload, fill, honour); } catch (e) { this.#unlock(); throw e; }
      if (res !== BLOCKED) return res;
      this.#unlock();
    }
  }

  #runSync(gen: Generator<Step, number, BackpressureDecision | undefined>): number {
    let r = gen.next();
    while (!r.done) {
      const step = r.value;
      if (step.kind === 'sleep') sleepSync(step.ms);
      else if (step.kind === 'lock') {
        try { this.#lockSync(); } catch (e) { gen.return(0); throw e; }
      }
      r = gen.next(undefined);
    }
    return r.value;
  }
  async #runAsync(gen: Generator<Step, number, BackpressureDecision | undefined>, signal: AbortSignal | undefined): Promise<number> {
    let r = gen.next();
    while (!r.done) {
      const step = r.value;
      let val: BackpressureDecision | undefined;
      try {
        if (step.kind === 'lock') await this.#lockAsync(signal);
        else {
          if (step.kind === 'sleep') await new Promise((res) => (step.ms >= 1 ? setTimeout(res, step.ms) : setImmediate(res)));
          else val = await (this.#policy as { decide: (i: BackpressureInfo) => BackpressureDecision | Promise<BackpressureDecision> }).decide(step.info);
          if (signal?.aborted) throw rmpError('ERR_ABORTED', 'write aborted', undefined, signal.reason);
          if (this.#closed) throw rmpError('ERR_CLOSED', 'writer closed while waiting');
        }
      } catch (e) { gen.return(0); throw e; }
      r = gen.next(val);
    }
    return r.value;
  }

  /** Append one message; returns its seq. May wait per policy (synchronously). */
  write(payload: Uint8Array): number {
    this.#validate(payload);
    return this.#one(payload.length, payload, undefined);
  }
  /** One record, sync, with the writer's policy (write, writeWith). */
  #one(len: number, payload: Uint8Array | undefined, fill: Fill | undefined): number {
    const res = this.#locked(len, payload, fill, this.#policy.policy !== 'overwrite');
    if (res === BLOCKED) return this.#slowSync(len, payload, fill);
    this.#ring();
    return res;
  }
  /** One record under one lock: its seq or BLOCKED (lock released either way). */
  #locked(len: number, payload: Uint8Array | undefined, fill: Fill | undefined, honour: boolean): number {
    this.#idx = 0;
    this.#lockSync();
    try { return this.#writeRecord(len, payload, fill, honour); } finally { this.#unlock(); }
  }
  /** tryWrite, tryWriteWith: one honouring attempt, no policy, no wait. */
  #try(len: number, payload: Uint8Array | undefined, fill: Fill | undefined): boolean {
    const ok = this.#locked(len, payload, fill, true) !== BLOCKED;
    if (!ok) { this.#c.addRing(RING.backpressureEvents, 1); this.#stats.backpressureEvents++; }
    this.#ring();
    return ok;
  }
  #slowSync(len: number, payload: Uint8Array | undefined, fill: Fill | undefined, timeoutMs?: number): number {
    const seq = this.#runSync(this.#slow(len, payload, fill, true, timeoutMs));
    this.#unlock();
    this.#ring();
    return seq;
  }

  /** Append one message only if no reader would be lapped; never waits for readers. */
  tryWrite(payload: Uint8Array): boolean {
    this.#validate(payload);
    return this.#try(payload.length, payload, undefined);
  }

  /** Append all, taking the lock once (released only to wait); returns the count. */
  writeMany(payloads: readonly Uint8Array[]): number {
    this.#check();
    if (!Array.isArray(payloads)) throw rmpError('ERR_INVALID_ARGUMENT', 'payloads must be an array');
    for (let k = 0; k < payloads.length; k++) this.#validate(payloads[k]!);
    return this.#manySync(payloads.length, payloads, undefined, undefined);
  }

  /** Sync batch (writeMany, writeManyWith): the lock is taken once and released only to wait. */
  #manySync(n: number, payloads: readonly Uint8Array[] | undefined, lengths: ArrayLike<number> | undefined, fill: Fill | undefined): number {
    let written = 0;
    const honour = this.#policy.policy !== 'overwrite';
    try {
      while (written < n) {
        this.#lockSync();
        let blocked = false;
        try {
          if (payloads !== undefined) {
            while (written < n) {
              const p = payloads[written]!;
              if (this.#writeRecord(p.length, p, undefined, honour) === BLOCKED) { blocked = true; break; }
              written++;
            }
          } else {
            while (written < n) {
              this.#idx = written;
              if (this.#writeRecord(lengths![written]!, undefined, fill, honour) === BLOCKED) { blocked = true; break; }
              written++;
            }
          }
        } finally { this.#unlock(); }
        if (blocked) {
          const p = payloads?.[written];
          this.#idx = written;
          this.#runSync(this.#slow(p !== undefined ? p.length : lengths![written]!, p, fill, true, undefined, written));
          this.#unlock();
          written++;
        }
      }
    } catch (e) {
      if (isShmkitError(e) && written > 0) throw rmpError(e.code, e.message, { ...e.details, written }, e);
      throw e;
    } finally { this.#idx = 0; this.#ring(); }
    return written;
  }

  /** Reserve `length` payload bytes and let `fill` write them in place, under the lock. Returns the seq. */
  writeWith(length: number, fill: (ring: Uint8Array, offset: number) => void): number {
    this.#validateWith(length, fill);
    return this.#one(length, undefined, fill);
  }
  #validateWith(length: number, fill: unknown): void {
    this.#check();
    this.#validateLen(length);
    this.#validateFill(fill);
  }

  /**
   * `writeWith` that never waits for readers (as `tryWrite`): if a reader would be lapped, nothing is
   * written, `fill` is not called, and the result is false. May wait for the writer mutex.
   */
  tryWriteWith(length: number, fill: (ring: Uint8Array, offset: number) => void): boolean {
    this.#validateWith(length, fill);
    return this.#try(length, undefined, fill);
  }

  /**
   * `writeMany` with fill-in-place records: record k has `lengths[k]` payload bytes, written by
   * `fill(ring, offset, k)` under the lock. Every length is validated before anything is written; the
   * lock is taken once (released only to wait). Returns the count. If `fill` throws, that record is
   * abandoned (`abandonedBytes`), the lock released and the error rethrown (a `ShmkitError` then
   * carries `details.written`); the records before it stay written.
   */
  writeManyWith(lengths: ArrayLike<number>, fill: (ring: Uint8Array, offset: number, index: number) => void): number {
    this.#check();
    const n = this.#validateLengths(lengths);
    this.#validateFill(fill);
    return this.#manySync(n, undefined, lengths, fill);
  }
  #validateLengths(lengths: ArrayLike<number>): number {
    if (lengths === null || typeof lengths !== 'object' || typeof lengths.length !== 'number') throw rmpError('ERR_INVALID_ARGUMENT', 'lengths must be an array of integers');
    const n = lengths.length;
    for (let k = 0; k < n; k++) this.#validateLen(lengths[k]!);
    return n;
  }

  async writeAsync(payload: Uint8Array, opts: AsyncOpts = {}): Promise<number> {
    this.#validate(payload);
    return this.#manyAsync(1, undefined, payload, undefined, 0, undefined, opts, false);
  }
  async writeManyAsync(payloads: readonly Uint8Array[], opts: AsyncOpts = {}): Promise<number> {
    this.#check();
    if (!Array.isArray(payloads)) throw rmpError('ERR_INVALID_ARGUMENT', 'payloads must be an array');
    for (let k = 0; k < payloads.length; k++) this.#validate(payloads[k]!);
    return this.#manyAsync(payloads.length, payloads, undefined, undefined, 0, undefined, opts, true);
  }
  /** `writeWith` that waits for readers (per policy) and for the writer mutex without blocking the thread. Returns the seq. */
  async writeWithAsync(length: number, fill: (ring: Uint8Array, offset: number) => void, opts: AsyncOpts = {}): Promise<number> {
    this.#validateWith(length, fill);
    return this.#manyAsync(1, undefined, undefined, undefined, length, fill, opts, false);
  }
  /** `writeManyWith` that waits without blocking the thread. Returns the count. */
  async writeManyWithAsync(lengths: ArrayLike<number>, fill: (ring: Uint8Array, offset: number, index: number) => void, opts: AsyncOpts = {}): Promise<number> {
    this.#check();
    const n = this.#validateLengths(lengths);
    this.#validateFill(fill);
    return this.#manyAsync(n, undefined, undefined, lengths, 0, fill, opts, true);
  }
  /**
   * Async batch driver. Record k is `payloads[k]`, or `one` (a single payload), or `lengths[k]` (or
   * `oneLen`) bytes written by `fill`. Returns the count (`count`) or the last seq.
   */
  async #manyAsync(n: number, payloads: readonly Uint8Array[] | undefined, one: Uint8Array | undefined, lengths: ArrayLike<number> | undefined, oneLen: number, fill: Fill | undefined, opts: AsyncOpts, count: boolean): Promise<number> {
    if (opts === null || typeof opts !== 'object') throw rmpError('ERR_INVALID_ARGUMENT', 'options must be an object');
    const signal = opts.signal;
    if (signal?.aborted) throw rmpError('ERR_ABORTED', 'write aborted', undefined, signal.reason);
    let written = 0, lastSeq = -1;
    const honour = this.#policy.policy !== 'overwrite';
    try {
      while (written < n) {
        await this.#lockAsync(signal);
        let blocked = false;
        let p: Uint8Array | undefined, len = 0;
        try {
          while (written < n) {
            p = payloads !== undefined ? payloads[written]! : one;
            len = p !== undefined ? p.length : lengths !== undefined ? lengths[written]! : oneLen;
            this.#idx = written;
            const r = this.#writeRecord(len, p, fill, honour);
            if (r === BLOCKED) { blocked = true; break; }
            lastSeq = r; written++;
          }
        } finally { this.#unlock(); }
        if (blocked) {
          this.#idx = written;
          lastSeq = await this.#runAsync(this.#slow(len, p, fill, false, opts.timeoutMs, written), signal);
          this.#unlock();
          written++;
        }
      }
    } catch (e) {
      if (count && isShmkitError(e) && written > 0) throw rmpError(e.code, e.message, { ...e.details, written }, e);
      throw e;
    } finally { this.#idx = 0; this.#ring(); }
    return count ? written : lastSeq;
  }

  /** Ring parked readers now (useful with notify: false); returns how many were signalled. */
  notifyReaders(): number {
    this.#check();
    const n = this.#c.ringReaders();
    this.#stats.signals += n;
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }
  [Symbol.dispose](): void { this.close(); }
}
