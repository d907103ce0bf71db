import { threadId } from 'node:worker_threads';
import { RobustMutex, WakeHandle } from '@shmkit/shm-core';
import { repairSlot, sweepSlots, tryLockSlot, type ChannelCore, type NotifierKind } from './channel.js';
import { rmpError } from './errors.js';
import { BAD_FLAG, LEN_MASK, PAD_FLAG, READERS, RING, SLOT, WAKE_KIND, selfSlotIdentity } from './layout.js';

/** u32 indices of reserveEnd's low and high halves in the ring header. */
const RES_LO = RING.reserveEnd >> 2, RES_HI = RES_LO + 1;
import { testPoint } from './testpoints.js';
import { udpRegister } from './udp.js';
import { ReaderWaiter, resolveWait, sleepSync, type WaitConfig, type WaitMode, type WaitStats } from './wait.js';

export interface RmpReaderOptions {
  notifier?: NotifierKind;
  /** Waiting. Defaults: 'hybrid', 50 µs, spin slice 10 ms, recheck 1000 ms. */
  wait?: WaitConfig;
  /** Default ringSize / 4; 0 = after every message. */
  publishLagBytes?: number;
  /** Default false. */
  autoResync?: boolean;
  /** Called synchronously from drain. */
  onOverrun?: (info: OverrunInfo) => void;
  /** Notifier 'none' in async hybrid/block; default 1. */
  pollIntervalMs?: number;
}
export interface OverrunInfo {
  readonly reason: 'lapped' | 'corrupt' | 'skipped';
  readonly lostBytes: number;
  readonly lostMessages: number | undefined;
  readonly firstLostSeq: number | undefined;
  readonly resynced: boolean;
}
export interface RmpMessage { readonly payload: Uint8Array; readonly seq: number }
export interface MessageMeta { readonly seq: number; readonly length: number }
export const SKIP: unique symbol = Symbol('rmp.SKIP');
export interface ViewHandler<T> {
  /** View into the ring, valid only during this call; may be torn. Return SKIP to ignore. */
  inspect(view: Uint8Array, meta: MessageMeta): T | typeof SKIP;
  /** Called only after validation proved the bytes inspect() saw were intact. */
  commit(value: T, meta: MessageMeta): void;
}
export interface RmpReaderStats {
  delivered: number; skipped: number; bytes: number; overruns: number; lostBytes: number;
  lostMessages: number; seqGaps: number; parks: number; wakeups: number; spuriousWakeups: number;
}

type Sink = (payload: Uint8Array, seq: number) => void;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
function d(a: bigint, b: bigint): bigint { return BigInt.asIntN(64, a - b); }
function clampNum(v: bigint): number { return v > MAX_SAFE ? Number.MAX_SAFE_INTEGER : v < 0n ? 0 : Number(v); }

/** One reader: a slot in the reader-info segment, private positions, a waiter. */
export class RmpReader implements Disposable, AsyncIterable<RmpMessage> {
  readonly slot: number;
  readonly #c: ChannelCore;
  readonly #onClose: () => void;
  readonly #lock: RobustMutex;
  readonly #waiter: ReaderWaiter;
  readonly #wake: WakeHandle | undefined;
  readonly #autoResync: boolean;
  readonly #onOverrun: ((info: OverrunInfo) => void) | undefined;
  readonly #lag: number;
  readonly #stats: RmpReaderStats;
  readonly #scratch: Uint8Array;
  readonly #meta = { seq: 0, length: 0 };
  readonly #posIdx: number;
  // private positions
  #pos = 0n;
  #vpos = 0n;
  #vseq = -1;
  #nextSeq = -1;
  #seqRef = 0;
  #published = 0n;
  #active = false;
  #expired = false;
  #closed = false;
  #last: OverrunInfo | undefined;
  // overrun bookkeeping
  #lostAt = 0n;
  #lostReason: 'lapped' | 'corrupt' = 'lapped';
  #firstLostSeq = -1;
  /** An overrun whose lost message count is not known yet (set at resync). */
  #pendingLoss: { info: { reason: 'lapped' | 'corrupt'; lostBytes: number; firstLostSeq: number | undefined }; fired: boolean } | undefined;
  #listening = false;
  #udpOff: (() => void) | undefined;

  constructor(core: ChannelCore, opts: RmpReaderOptions, onClose: () => void) {
    if (opts === null || typeof opts !== 'object') throw rmpError('ERR_INVALID_ARGUMENT', 'reader options must be an object');
    this.#c = core; this.#onClose = onClose;
    const notifier = opts.notifier ?? core.defaultNotifier;
    if (notifier !== 'fd' && notifier !== 'none' && notifier !== 'udp-multicast') throw rmpError('ERR_INVALID_ARGUMENT', `notifier must be fd, udp-multicast or none, got ${String(notifier)}`);
    const cfg = resolveWait(opts.wait);
    const lag = opts.publishLagBytes ?? core.S / 4;
    if (typeof lag !== 'number' || !Number.isInteger(lag) || lag < 0) throw rmpError('ERR_INVALID_ARGUMENT', 'publishLagBytes must be an integer >= 0');
    this.#lag = lag;
    const poll = opts.pollIntervalMs ?? 1;
    if (typeof poll !== 'number' || !(poll > 0)) throw rmpError('ERR_INVALID_ARGUMENT', 'pollIntervalMs must be > 0');
    if (opts.onOverrun !== undefined && typeof opts.onOverrun !== 'function') throw rmpError('ERR_INVALID_ARGUMENT', 'onOverrun must be a function');
    this.#autoResync = opts.autoResync === true;
    this.#onOverrun = opts.onOverrun;
    this.#stats = { delivered: 0, skipped: 0, bytes: 0, overruns: 0, lostBytes: 0, lostMessages: 0, seqGaps: 0, parks: 0, wakeups: 0, spuriousWakeups: 0 };
    this.#scratch = new Uint8Array(core.maxPayload);

    // ---- alloc (5.2) ----
    let slot = -1;
    let lock: RobustMutex | undefined;
    for (let round = 0; round < 4 && slot < 0; round++) {
      if (round > 0) sleepSync(1);
      for (let s = 0; s < core.maxReaders; s++) {
        const l = RobustMutex.attach(core.readersSeg, core.slotBase(s) + SLOT.lock);
        const r = tryLockSlot(l);
        if (r === 'busy') continue;
        testPoint('rmp.slot.afterLock');
        if (r === 'recovered') repairSlot(core, s);
        slot = s; lock = l; break;
      }
    }
    if (slot < 0 || !lock) throw rmpError('ERR_CAPACITY', `no free reader slot (maxReaders ${core.maxReaders})`, { maxReaders: core.maxReaders });
    this.slot = slot; this.#lock = lock;
    const ri = core.ri32;
    try {
      // allocHigh CAS-max before the slot can become active
      const ah = READERS.allocHigh >> 2;
      for (;;) { const v = Atomics.load(ri, ah); if (v >= slot + 1 || Atomics.compareExchange(ri, ah, v, slot + 1) === v) break; }
      const incIdx = core.slotI32(slot, SLOT.incarnation);
      const inc = (Atomics.load(ri, incIdx) + 1) | 0;
      Atomics.store(ri, incIdx, inc);
      Atomics.store(ri, core.slotI32(slot, SLOT.pid), process.pid);
      Atomics.store(ri, core.slotI32(slot, SLOT.threadId), threadId);
      Atomics.store(ri, core.slotI32(slot, SLOT.pidNs), selfSlotIdentity().pidNs | 0);
      Atomics.store(core.rib, (core.slotBase(slot) + SLOT.startTime) >> 3, BigInt(selfSlotIdentity().startTime));
      Atomics.store(core.rib, (core.slotBase(slot) + SLOT.expiredCount) >> 3, 0n);
      const wakeKind = notifier === 'fd' ? WAKE_KIND.fifo : notifier === 'udp-multicast' ? WAKE_KIND.udp : WAKE_KIND.none;
      Atomics.store(ri, core.slotI32(slot, SLOT.wakeKind), wakeKind);
      if (notifier === 'fd') this.#wake = WakeHandle.createFifo(core.pkg, core.name, `wake-${slot}`, { mode: core.mode });
      else if (notifier === 'udp-multicast') {
        const wake = WakeHandle.eventfd();
        this.#wake = wake;
        this.#udpOff = udpRegister(core.udpGroup, core.udpPort, wake);
      } else this.#wake = undefined;
      const stats = this.#stats as unknown as WaitStats;
      this.#waiter = new ReaderWaiter(core.readersSeg, core.slotBase(slot) + SLOT.doorbell, READERS.parked, this.#wake, cfg, poll, stats);
      this.#waiter.claim((((inc & 0xffff) << 16) | (wakeKind << 12) | slot) >>> 0);
      sweepSlots(core, slot);
    } catch (e) {
      this.#udpOff?.(); this.#wake?.close();
      try { lock.unlock(); } catch { /* already failing */ }
      throw e;
    }
    this.#posIdx = (core.slotBase(slot) + SLOT.position) >> 3;
    this.#activate();
  }

  // ---- activation (5.2) ----
  #activate(): void {
    const c = this.#c;
    const Fa = c.freePos();
    Atomics.store(c.rib, this.#posIdx, Fa);
    Atomics.store(c.ri32, c.slotI32(this.slot, SLOT.isActive), 1);
    c.bumpEpoch();
    testPoint('rmp.slot.afterActivate');
    const Fb = c.freePos();
    Atomics.store(c.rib, this.#posIdx, Fb);
    this.#pos = this.#vpos = this.#published = Fb;
    this.#nextSeq = -1; this.#vseq = -1;
    this.#seqRef = Number(c.commitSeq());
    this.#active = true; this.#expired = false;
  }

  get active(): boolean { return this.#active; }
  get expired(): boolean { return this.#expired; }
  get lastOverrun(): OverrunInfo | undefined { return this.#last; }
  get stats(): Readonly<RmpReaderStats> { return this.#stats; }

  #check(): void {
    if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed');
    if (!this.#active) throw rmpError('ERR_RMP_INACTIVE', `reader in slot ${this.slot} is deactivated`);
  }

  /** True if the stream end is ahead of this reader (one atomic load). */
  available(): boolean {
    if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed');
    return this.#c.freePos() !== this.#pos;
  }
  #ready = (): boolean => this.#closed || !this.#active || this.#expired || this.#c.freePos() !== this.#pos;

  #publish(): void { Atomics.store(this.#c.rib, this.#posIdx, this.#vpos); this.#published = this.#vpos; }

  // ---- overrun / resync (5.6 step 5, 5.6.1) ----
  #overrun(reason: 'lapped' | 'corrupt'): void {
    const c = this.#c;
    this.#expired = true;
    c.addReaders(READERS.expiredReads, 1);
    Atomics.add(c.rib, (c.slotBase(this.slot) + SLOT.expiredCount) >> 3, 1n);
    this.#stats.overruns++;
    this.#lostAt = this.#vpos; this.#lostReason = reason; this.#firstLostSeq = this.#vseq;
    this.#pos = this.#vpos;
    const est = d(c.freePos(), this.#vpos);
    this.#last = { reason, lostBytes: clampNum(est), lostMessages: undefined, firstLostSeq: this.#vseq >= 0 ? this.#vseq : undefined, resynced: false };
  }
  #doResync(fire = true): OverrunInfo {
    const wasExpired = this.#expired;
    const from = wasExpired ? this.#lostAt : this.#vpos;
    this.#activate();
    const bytes = clampNum(d(this.#pos, from));
    if (!wasExpired) { const info = { reason: 'skipped' as const, lostBytes: bytes, lostMessages: undefined, firstLostSeq: undefined, resynced: true }; return info; }
    this.#stats.lostBytes += bytes;
    const fls = this.#firstLostSeq >= 0 ? this.#firstLostSeq : undefined;
    this.#pendingLoss = { info: { reason: this.#lostReason, lostBytes: bytes, firstLostSeq: fls }, fired: !fire };
    let info: OverrunInfo = { reason: this.#lostReason, lostBytes: bytes, lostMessages: undefined, firstLostSeq: fls, resynced: true };
    this.#last = info;
    // quiescent stream end (no writer reserved past it): commitSeq is exactly the next record's seq,
    // so the lost message count is known now
    const c = this.#c;
    if (c.reserveEnd() === this.#pos && c.freePos() === this.#pos) {
      const exactNext = this.#seqRef;
      if (c.commitSeq() === BigInt(exactNext) && c.reserveEnd() === this.#pos && c.freePos() === this.#pos) {
        this.#lossKnown(exactNext);
        info = this.#last;
      }
    }
    return info;
  }
  /** The first record after a resync is read: the lost message count is now exact. */
  #lossKnown(seq: number): void {
    const p = this.#pendingLoss!;
    this.#pendingLoss = undefined;
    const fls = p.info.firstLostSeq;
    const lost = fls === undefined ? undefined : Math.max(0, seq - fls);
    if (lost !== undefined) this.#stats.lostMessages += lost;
    const info: OverrunInfo = { ...p.info, lostMessages: lost, resynced: true };
    this.#last = info;
    if (!p.fired) this.#onOverrun?.(info);
  }
  #endOfCall(): void {
    const p = this.#pendingLoss;
    if (p && !p.fired) { p.fired = true; this.#onOverrun?.({ ...p.info, lostMessages: undefined, resynced: true }); }
    if (this.#expired && !this.#autoResync && this.#last && !this.#last.resynced && this.#onOverrunPendingExpired) {
      this.#onOverrunPendingExpired = false;
      this.#onOverrun?.(this.#last);
    }
  }
  #onOverrunPendingExpired = false;

  /** Jump to the current stream end; returns what was skipped. */
  resync(): OverrunInfo {
    if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed');
    if (!this.#active) throw rmpError('ERR_RMP_INACTIVE', `reader in slot ${this.slot} is deactivated`);
    return this.#doResync(false); // the caller gets the info: onOverrun is not called
  }

  /** Scratch views by length, cached for the first 256 lengths seen (no allocation per message). */
  readonly #views = new Map<number, Uint8Array>();
  #view(len: number): Uint8Array {
    let v = this.#views.get(len);
    if (v === undefined) { v = this.#scratch.subarray(0, len); if (this.#views.size < 256) this.#views.set(len, v); }
    return v;
  }

  // ---- drain (5.6) ----
  /** Deliver available messages (copy, validate, deliver). `payload` is a reader-owned scratch copy
   *  valid only during the call (overwritten by the next message). Returns how many were delivered. */
  drain(sink: Sink, maxMessages = Infinity): number {
    if (typeof sink !== 'function') throw rmpError('ERR_INVALID_ARGUMENT', 'sink must be a function');
    return this.#drain(sink, undefined, maxMessages);
  }
  /** Zero-copy variant: inspect on the ring, commit after validation. */
  drainWith<T>(handler: ViewHandler<T>, maxMessages = Infinity): number {
    if (handler === null || typeof handler !== 'object' || typeof handler.inspect !== 'function' || typeof handler.commit !== 'function') throw rmpError('ERR_INVALID_ARGUMENT', 'handler needs inspect and commit functions');
    return this.#drain(undefined, handler as ViewHandler<unknown>, maxMessages);
  }

  #drain(sink: Sink | undefined, handler: ViewHandler<unknown> | undefined, maxMessages: number): number {
    this.#check();
    if (typeof maxMessages !== 'number' || !(maxMessages >= 0)) throw rmpError('ERR_INVALID_ARGUMENT', 'maxMessages must be >= 0');
    if (this.#expired) {
      if (!this.#autoResync) return 0;
      this.#doResync();
    }
    let delivered = 0;
    try {
      for (let pass = 0; pass < 2; pass++) {
        delivered += this.#pass(sink, handler, maxMessages - delivered);
        if (!this.#expired) break;
        if (!this.#autoResync) { this.#onOverrunPendingExpired = true; break; }
        if (pass === 1) break; // at most one resync per call
        this.#doResync();
      }
    } finally {
      this.#publish();
      this.#endOfCall();
    }
    return delivered;
  }

  /** One pass over [pos, freePos). Returns deliveries; sets #expired on an overrun. */
  #pass(sink: Sink | undefined, handler: ViewHandler<unknown> | undefined, max: number): number {
    const c = this.#c, S = c.S, mask = c.mask, ring32 = c.ring32, ring = c.ring;
    const F = c.freePos();
    const base = this.#pos;
    if (F === base) return 0;
    const dd = d(F, base);
    if (dd < 0n) { this.#overrun('corrupt'); return 0; }
    if (dd > BigInt(S)) { this.#overrun(d(c.reserveEnd(), this.#vpos) > BigInt(S) ? 'lapped' : 'corrupt'); return 0; }
    const avail = Number(dd);
    const baseIdx = Number(base & c.maskBig);
    const maxPayload = c.maxPayload;
    const lagBytes = this.#lag;
    let off = 0, voff = 0; // relative to base (vpos == pos at pass start)
    let delivered = 0;
    let nextSeq = this.#nextSeq, vseq = this.#vseq;
    let pubOff = Number(d(this.#published, base)); // <= 0
    const fail = (): number => {
      this.#pos = base + BigInt(off); this.#vpos = base + BigInt(voff);
      this.#nextSeq = nextSeq; this.#vseq = vseq;
      const R = c.reserveEnd();
      this.#overrun(Number(d(R, base)) - voff > S ? 'lapped' : 'corrupt');
      return delivered;
    };
    // d(reserveEnd, base) from a consistent (hi, lo, hi) read of the u32 halves: no BigInt per message.
    // hi only grows (a carry is one 64-bit store), so an unchanged hi means lo belongs to it.
    const h32 = c.rh32, baseLo = Number(BigInt.asUintN(32, base)), baseHi = Number(BigInt.asUintN(32, base >> 32n));
    const validated = (): boolean => {
      const hi = Atomics.load(h32, RES_HI), lo = Atomics.load(h32, RES_LO);
      if (Atomics.load(h32, RES_HI) !== hi) return Number(d(c.reserveEnd(), base)) - voff <= S;
      return ((hi - baseHi) | 0) * 4294967296 + (lo - baseLo) - voff <= S;
    };
    try {
      while (off < avail && delivered < max) {
        const i = (baseIdx + off) & mask;
        const w0 = ring32[i >> 2]!;
        const s32 = ring32[(i >> 2) + 1]!;
        if ((w0 & BAD_FLAG) !== 0) return fail();
        const len = w0 & LEN_MASK;
        const pad = (w0 & PAD_FLAG) !== 0;
        const rec = 8 + ((len + 7) & ~7);
        if (pad ? i + 8 + len !== S : (len > maxPayload || i + rec > S)) return fail();
        if (off + rec > avail) return fail();
        let seq: number;
        if (nextSeq >= 0) {
          const diff = (s32 - (nextSeq >>> 0)) >>> 0;
          if (diff >= 0x8000_0000) return fail();
          seq = nextSeq + diff;
        } else {
          // nearest value to seqRef congruent to seq32; a later seq than seqRef only appears after a
          // writer died between its commitSeq and freePos stores (a gap), so it is accepted and counted
          const delta = (s32 - (this.#seqRef >>> 0)) | 0;
          seq = this.#seqRef + delta;
          if (seq < 0) return fail();
          if (delta > 0 && !pad) this.#stats.seqGaps += delta;
        }
        if (this.#pendingLoss !== undefined) this.#lossKnown(seq);
        if (pad) {
          off += rec;
          if (nextSeq < 0 || seq > nextSeq) { if (nextSeq >= 0) { /* gap noted at delivery */ } }
          if (nextSeq < 0) { nextSeq = seq; if (vseq < 0) vseq = seq; }
          continue;
        }
        const at = i + 8;
        let value: unknown;
        if (handler !== undefined) {
          const meta = this.#meta; meta.seq = seq; meta.length = len;
          value = handler.inspect(ring.subarray(at, at + len), meta);
          testPoint('rmp.drain.afterCopy');
          if (value === SKIP) { off += rec; nextSeq = seq + 1; this.#stats.skipped++; continue; }
        } else {
          if (len > 64) this.#scratch.set(ring.subarray(at, at + len));
          else { const sc = this.#scratch; for (let j = 0; j < len; j++) sc[j] = ring[at + j]!; }
          testPoint('rmp.drain.afterCopy');
        }
        if (!validated()) return fail();
        const expected = vseq >= 0 ? vseq : nextSeq;
        if (expected >= 0 && seq > expected) this.#stats.seqGaps += seq - expected;
        off += rec; voff = off; nextSeq = vseq = seq + 1;
        delivered++; this.#stats.delivered++; this.#stats.bytes += len;
        if (lagBytes === 0 || voff - pubOff >= lagBytes) {
          const vp = base + BigInt(voff);
          Atomics.store(c.rib, this.#posIdx, vp); this.#published = vp; pubOff = voff;
        }
        if (handler !== undefined) { const meta = this.#meta; meta.seq = seq; meta.length = len; handler.commit(value, meta); }
        else sink!(this.#view(len), seq);
      }
      if (voff < off) {
        if (!validated()) return fail();
        voff = off;
        if (nextSeq >= 0) vseq = nextSeq;
      }
      return delivered;
    } finally {
      if (!this.#expired) {
        this.#pos = base + BigInt(off); this.#vpos = base + BigInt(voff);
        this.#nextSeq = nextSeq; this.#vseq = vseq;
      }
    }
  }

  /** One message as a fresh copy, or undefined. ERR_LOSS_DETECTED if expired and !autoResync. */
  tryRead(): RmpMessage | undefined {
    this.#throwIfExpired();
    let out: RmpMessage | undefined;
    this.#drain((p, seq) => { out = { payload: p.slice(), seq }; }, undefined, 1);
    if (out === undefined) this.#throwIfExpired();
    return out;
  }
  #throwIfExpired(): void {
    this.#check();
    if (this.#expired && !this.#autoResync) {
      const info = this.#last!;
      throw rmpError(info.reason === 'corrupt' ? 'ERR_CORRUPT' : 'ERR_LOSS_DETECTED', `reader in slot ${this.slot} overrun (${info.reason}, ${info.lostBytes} bytes)`, { ...info });
    }
  }

  /** Next message (fresh copy), waiting in the reader's mode. */
  async read(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<RmpMessage> {
    const end = opts.timeoutMs === undefined ? Infinity : performance.now() + opts.timeoutMs;
    for (;;) {
      const m = this.tryRead();
      if (m !== undefined) return m;
      const left = end - performance.now();
      if (left <= 0 || !(await this.waitForData({ signal: opts.signal, timeoutMs: left === Infinity ? undefined : left }))) {
        throw rmpError('ERR_TIMEOUT', `no message within ${opts.timeoutMs} ms`, { what: 'read' });
      }
    }
  }

  /** Resolve true when data is available (or the reader is expired), false on timeout. */
  async waitForData(opts: { mode?: WaitMode; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<boolean> {
    this.#check();
    const ok = await this.#waiter.wait(this.#ready, { mode: opts.mode, signal: opts.signal, timeoutMs: opts.timeoutMs, beforePark: () => this.#publish() });
    if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed while waiting');
    return ok;
  }
  /** Same, blocking the thread (spin, then futex park in hybrid/block). */
  waitForDataSync(opts: { mode?: WaitMode; timeoutMs?: number } = {}): boolean {
    this.#check();
    return this.#waiter.waitSync(this.#ready, { mode: opts.mode, timeoutMs: opts.timeoutMs, beforePark: () => this.#publish() });
  }

  /** Pump: drain → wait → drain … until the listener is closed or the signal aborts. */
  listen(sink: Sink, opts: { signal?: AbortSignal; maxBatch?: number } = {}): { close(): void } {
    this.#check();
    if (typeof sink !== 'function') throw rmpError('ERR_INVALID_ARGUMENT', 'sink must be a function');
    if (this.#listening) throw rmpError('ERR_INVALID_STATE', 'a listener is already running on this reader');
    const maxBatch = opts.maxBatch ?? 1024;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.#listening = true;
    const stop = () => { this.#listening = false; opts.signal?.removeEventListener('abort', onAbort); };
    void (async () => {
      try {
        while (!ac.signal.aborted && !this.#closed && this.#active) {
          const n = this.#drain(sink, undefined, maxBatch);
          if (this.#expired && !this.#autoResync) break;
          if (n >= maxBatch) { await new Promise((r) => setImmediate(r)); continue; }
          if (ac.signal.aborted) break;
          await this.waitForData({ signal: ac.signal });
        }
      } catch (e) {
        // aborted or closed: the pump just ends; anything else (a throwing sink) surfaces as an
        // unhandled rejection, like any throwing event callback
        const code = (e as { code?: string }).code;
        if (!this.#closed && code !== 'ERR_ABORTED' && code !== 'ERR_CLOSED' && code !== 'ERR_RMP_INACTIVE') throw e;
      } finally { stop(); }
    })();
    if (opts.signal?.aborted) ac.abort();
    return { close: () => ac.abort() };
  }

  /** Stop being protected by writers (slot kept); activate() rejoins at the stream end. */
  deactivate(): void {
    if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed');
    if (!this.#active) return;
    this.#active = false;
    Atomics.store(this.#c.ri32, this.#c.slotI32(this.slot, SLOT.isActive), 0);
    this.#c.bumpEpoch();
  }
  activate(): void {
    if (this.#closed) throw rmpError('ERR_CLOSED', 'reader closed');
    if (this.#active) return;
    this.#activate();
  }

  async *#iterate(): AsyncGenerator<RmpMessage> {
    for (;;) {
      const m = this.tryRead();
      if (m !== undefined) { yield m; continue; }
      await this.waitForData();
    }
  }
  [Symbol.asyncIterator](): AsyncIterator<RmpMessage> { return this.#iterate(); }

  /** Deactivate, close the waiter and the FIFO, release the slot. */
  close(): void {
    if (this.#closed) return;
    if (this.#active) { this.#active = false; Atomics.store(this.#c.ri32, this.#c.slotI32(this.slot, SLOT.isActive), 0); this.#c.bumpEpoch(); }
    this.#closed = true;
    this.#waiter.close();
    this.#udpOff?.();
    this.#wake?.close();
    try { this.#lock.unlock(); } catch { /* segment already gone */ }
    this.#onClose();
  }
  [Symbol.dispose](): void { this.close(); }
}

