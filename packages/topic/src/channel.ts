import {
  isShmkitError, SKIP,
  type BackpressurePolicy, type MessageMeta, type NotifierKind, type OverrunInfo, type RmpCreateOptions, type RmpOpenOptions,
  type RmpReader, type RmpWriter, type ViewHandler, type WaitConfig,
} from '@shmkit/rmp';
import { extWords, RmpChannel, type RmpInternalOptions } from '@shmkit/rmp/internal';
import { topicError } from './errors.js';
import {
  anc, byteKey, decodeTopic, encodedTopic, encodeTopic, FLAG_POST_TO_DESCENDANTS, HEADER_FIXED, headerSize,
  copyBytes, putHeader, putHeader32, readStamp, RECORD_VERSION, type EncodedTopic, type Matching,
} from './record.js';
import { checkPayload, tooLarge, TopicPublisher, type PublishOptions, type PublisherHost, type PublisherOptions } from './publisher.js';
import { Subscription, type SubscribeOptions, type SubscriptionHost, type TopicMessage } from './subscription.js';
import { pointsEnabled, testPoint } from './testpoints.js';

/** `notifier` (from RmpCreateOptions) is the channel default when creating, and the notifier of this
 *  handle's reader when opening (default: the channel default). `role: 'reader'` handles map the ring
 *  read-only and cannot publish (ERR_PERMISSION). */
export interface TopicChannelOptions extends RmpCreateOptions, RmpOpenOptions {
  /** How this handle's subscriptions wait. Defaults 'hybrid', 50 µs, spin slice 10 ms, recheck 1000 ms. */
  wait?: WaitConfig;
  /** Resync automatically after an overrun. Default true. */
  autoResync?: boolean;
  /** Policy of this handle's publishers. Default rmp's { policy: 'wait', timeoutMs: 10, onTimeout: 'overwrite' }. */
  backpressure?: BackpressurePolicy;
  /** Longest topic accepted by publish/subscribe, UTF-8 bytes, 0 ..= 65535. Default 1024. */
  maxTopicBytes?: number;
  /** Messages dispatched per event-loop turn before yielding. Default 1024. */
  maxBatch?: number;
}

export interface OverrunEvent extends OverrunInfo {}
export interface TopicEvents {
  'first-subscription': { subscription: Subscription };
  'last-subscription-closed': Record<string, never>;
  'overrun': OverrunEvent;
  'error': { error: unknown; subscription?: Subscription; publisher?: TopicPublisher };
}
export type TopicStatus = { [K in keyof TopicEvents]: { type: K } & TopicEvents[K] }[keyof TopicEvents];

export interface TopicStats {
  published: number; delivered: number; skippedNoMatch: number; droppedOlderGeneration: number;
  malformed: number; overruns: number; lostBytes: number; lostMessages: number;
  payloadBytesCopied: number; subscriptions: number; generation: number;
}

/** ext[0] of the reader-info segment (offset 192): the shared generation counter (4.1). */
const GEN_INDEX = 0;
/** The package token topic channels live under (object names `/shmkit.topic.<name>.*`, packageId 3). */
const PACKAGE = 'topic' as const;
const CACHE_SIZE = 256;
/** Encoded topics of one-off publishes kept per handle (cleared when full). */
const PUB_CACHE_SIZE = 256;
const EMPTY = new Uint8Array(0);
const EVENTS = ['first-subscription', 'last-subscription-closed', 'overrun', 'error'] as const;

interface CacheEntry { hash: number; bytes: Uint8Array; key: string; topic: string | undefined | null; plain: Subscription[] | undefined; pd: Subscription[] | undefined }
interface Resolved { wait: WaitConfig | undefined; autoResync: boolean; backpressure: BackpressurePolicy | undefined; maxTopicBytes: number; maxBatch: number; notifier: NotifierKind | undefined }
interface EventStream { queue: TopicStatus[]; pending: ((r: IteratorResult<TopicStatus>) => void) | undefined; done: boolean; end(): void }

function resolveOpts(o: TopicChannelOptions | undefined): Resolved {
  if (o === undefined) o = {};
  if (o === null || typeof o !== 'object') throw topicError('ERR_INVALID_ARGUMENT', 'options must be an object');
  const mtb = o.maxTopicBytes ?? 1024;
  if (typeof mtb !== 'number' || !Number.isInteger(mtb) || mtb < 0 || mtb > 65535) throw topicError('ERR_INVALID_ARGUMENT', `maxTopicBytes must be an integer in [0, 65535], got ${String(mtb)}`, { field: 'maxTopicBytes', actual: mtb });
  const mb = o.maxBatch ?? 1024;
  if (typeof mb !== 'number' || !Number.isInteger(mb) || mb < 1) throw topicError('ERR_INVALID_ARGUMENT', `maxBatch must be an integer >= 1, got ${String(mb)}`, { field: 'maxBatch', actual: mb });
  if (o.autoResync !== undefined && typeof o.autoResync !== 'boolean') throw topicError('ERR_INVALID_ARGUMENT', 'autoResync must be a boolean');
  return { wait: o.wait, autoResync: o.autoResync ?? true, backpressure: o.backpressure, maxTopicBytes: mtb, maxBatch: mb, notifier: o.notifier };
}
function rmpOpts(o: TopicChannelOptions | undefined): RmpCreateOptions & RmpOpenOptions & RmpInternalOptions {
  const { wait: _w, autoResync: _a, backpressure: _b, maxTopicBytes: _m, maxBatch: _x, ...rest } = o ?? {};
  return { ...rest, package: PACKAGE };
}
function fnv1a(v: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) { h ^= v[i]!; h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}
function queueThrow(e: unknown): void { queueMicrotask(() => { throw e; }); }

/** A handle on one topic channel (an rmp channel under the package token `topic`). */
export class TopicChannel implements Disposable, SubscriptionHost, PublisherHost {
  readonly name: string;
  readonly ringSize: number;
  /** RMP payload limit; a message needs align8(12 + topicBytes) + payload bytes. */
  readonly maxPayload: number;
  readonly #rmp: RmpChannel;
  readonly #gen: BigUint64Array;
  /** The same counter as u32 halves (lo, hi): the publish path reads it without a BigInt. */
  readonly #gen32: Uint32Array;
  readonly #o: Resolved;
  #writer: RmpWriter | undefined;
  #reader: RmpReader | undefined;
  #closed = false;
  // ---- index (5.3), creation order ----
  readonly #subs = new Set<Subscription>();
  readonly #exact = new Map<string, Subscription[]>();
  readonly #segDesc = new Map<string, Subscription[]>();
  #prefixDesc: Subscription[] = [];
  #order = 0;
  #cache: Array<CacheEntry | undefined> = new Array(CACHE_SIZE);
  // ---- dispatch state ----
  readonly #st: TopicStats = { published: 0, delivered: 0, skippedNoMatch: 0, droppedOlderGeneration: 0, malformed: 0, overruns: 0, lostBytes: 0, lostMessages: 0, payloadBytesCopied: 0, subscriptions: 0, generation: 0 };
  #scratch: Uint8Array = new Uint8Array(0);
  /** #scratch.subarray(0, length of the last view handed out): no view allocated per message. */
  #scratchView: Uint8Array = EMPTY;
  #curFresh: Uint8Array | undefined;
  #curLastFresh = -1;
  readonly #out: Subscription[] = [];
  #curEntry: CacheEntry | undefined;
  #curLen = 0;
  #curStamp = 0;
  #curPd = false;
  readonly #view: { topic: string; payload: Uint8Array; seq: number; postToDescendants: boolean; generation: number } = { topic: '', payload: new Uint8Array(0), seq: 0, postToDescendants: false, generation: 0 };
  readonly #handler: ViewHandler<Subscription[]>;
  // ---- pump ----
  #pumpActive = false;
  #ac = new AbortController();
  #paused = false;
  #stalled = false;
  #draining = false;
  #deactivateAfterDrain = false;
  #closeAfterDrain = false;
  #overruns: OverrunInfo[] = [];
  // ---- publish state: the record the fill writes (no closure, no allocation per message) ----
  #lastPub: EncodedTopic | undefined;
  readonly #pubCache = new Map<string, EncodedTopic>();
  #fT: EncodedTopic | undefined;
  #fFlags = 0;
  #fPayload: Uint8Array = EMPTY;
  /** @internal the stamp loaded by _loadStamp(), as u32 halves. */
  _lo = 0;
  /** @internal */
  _hi = 0;
  #r8: Uint8Array | undefined;
  #r32: Uint32Array | undefined;
  readonly #fill = (ring: Uint8Array, at: number): void => {
    const p = this.#fPayload;
    copyBytes(ring, at + this._header(ring, at, this._lo, this._hi, this.#fFlags, this.#fT!), p, 0, p.length);
  };
  // ---- events ----
  readonly #listeners = new Map<keyof TopicEvents, Set<(e: never) => void>>();
  readonly #streams = new Set<EventStream>();
  readonly #publishers = new Set<TopicPublisher>();

  private constructor(rmp: RmpChannel, o: Resolved) {
    this.#rmp = rmp; this.#o = o;
    this.name = rmp.name; this.ringSize = rmp.ringSize; this.maxPayload = rmp.maxPayload;
    this.#gen = extWords(rmp);
    this.#gen32 = new Uint32Array(this.#gen.buffer, this.#gen.byteOffset + GEN_INDEX * 8, 2);
    this.#handler = { inspect: (v, m) => this.#inspect(v, m), commit: (c, m) => this.#commit(c, m) };
  }

  /** Create both segments exclusively (sync). ERR_EXISTS if the channel exists. */
  static create(name: string, opts?: TopicChannelOptions): TopicChannel {
    const o = resolveOpts(opts);
    return new TopicChannel(RmpChannel.create(name, rmpOpts(opts)), o);
  }
  /** Open an existing channel; waits up to waitInitMs while a live process is still creating it. ERR_NOT_FOUND. */
  static async open(name: string, opts?: TopicChannelOptions): Promise<TopicChannel> {
    const o = resolveOpts(opts);
    return new TopicChannel(await RmpChannel.open(name, rmpOpts(opts)), o);
  }
  /** Open without waiting. */
  static openSync(name: string, opts?: TopicChannelOptions): TopicChannel {
    const o = resolveOpts(opts);
    return new TopicChannel(RmpChannel.openSync(name, rmpOpts(opts)), o);
  }
  static async openOrCreate(name: string, opts?: TopicChannelOptions): Promise<TopicChannel> {
    const o = resolveOpts(opts);
    return new TopicChannel(await RmpChannel.openOrCreate(name, rmpOpts(opts)), o);
  }
  /** Remove both segments and every wake FIFO. False if nothing existed. */
  static unlink(name: string): boolean { return RmpChannel.unlink(name, { package: PACKAGE }); }

  get subscriptionCount(): number { return this.#subs.size; }
  /** @internal the underlying rmp channel (tests, introspection). */
  get _rmp(): RmpChannel { this.#check(); return this.#rmp; }
  /** @internal this handle's rmp reader, if any. */
  get _reader(): RmpReader | undefined { return this.#reader; }

  #check(): void { if (this.#closed) throw topicError('ERR_CLOSED', `${this.name}: channel closed`); }

  // ================= publishing (5.8) =================
  /** @internal */
  _writer(): RmpWriter {
    this.#check();
    if (this.#rmp.role === 'reader') throw topicError('ERR_PERMISSION', `${this.name}: a role "reader" handle cannot publish`);
    if (this.#writer === undefined) this.#writer = this.#rmp.createWriter({ backpressure: this.#o.backpressure });
    return this.#writer;
  }
  /** @internal the shared generation counter now. */
  _stamp(): number { return Number(Atomics.load(this.#gen, GEN_INDEX)); }
  /** @internal Load the shared counter into _lo/_hi (5.8 step 2) with 32-bit loads: hi, lo, hi again, so that a
   *  carry between the halves (2^32 subscriptions) cannot tear it. */
  _loadStamp(): void {
    const g = this.#gen32;
    let hi = Atomics.load(g, 1), lo = 0;
    for (;;) {
      lo = Atomics.load(g, 0);
      const h2 = Atomics.load(g, 1);
      if (h2 === hi) break;
      hi = h2;
    }
    this._lo = lo; this._hi = hi;
  }
  /** @internal */
  _countPublished(n: number): void { this.#st.published += n; }
  /** @internal Write a record header at `at` of the ring (inside a fill), with word stores; returns H. */
  _header(ring: Uint8Array, at: number, lo: number, hi: number, flags: number, t: EncodedTopic): number {
    if (ring !== this.#r8) {
      this.#r8 = ring;
      this.#r32 = (ring.byteOffset & 3) === 0 ? new Uint32Array(ring.buffer, ring.byteOffset, ring.byteLength >>> 2) : undefined;
    }
    const r32 = this.#r32;
    return r32 !== undefined && (at & 3) === 0 ? putHeader32(r32, at, lo, hi, flags, t) : putHeader(ring, at, lo, hi, flags, t);
  }
  /** @internal A fill of its own for a write that may complete after an await (async paths): the stamp
   *  loaded now, the payload read when the record is written. */
  _asyncFill(t: EncodedTopic, flags: number, payload: Uint8Array): (ring: Uint8Array, at: number) => void {
    const lo = this._lo, hi = this._hi;
    return (ring, at) => { copyBytes(ring, at + this._header(ring, at, lo, hi, flags, t), payload, 0, payload.length); };
  }
  /** @internal The validated, encoded topic of a one-off publish: the last one, else a per-handle cache. */
  _pubTopic(topic: string): EncodedTopic {
    const last = this.#lastPub;
    if (last !== undefined && last.topic === topic) return last;
    let t = this.#pubCache.get(topic);
    if (t === undefined) {
      t = encodedTopic(topic, this.#o.maxTopicBytes);
      if (this.#pubCache.size >= PUB_CACHE_SIZE) this.#pubCache.clear();
      this.#pubCache.set(topic, t);
    }
    this.#lastPub = t;
    return t;
  }
  /** @internal A fresh encoded topic (publishers keep their own). */
  _encodeTopic(topic: string): EncodedTopic { return encodedTopic(topic, this.#o.maxTopicBytes); }
  /** @internal Size check of one record; returns its length. */
  _size(t: EncodedTopic, payload: unknown): number {
    checkPayload(payload);
    const total = t.H + payload.length;
    if (total > this.maxPayload) throw tooLarge(total, this.maxPayload);
    return total;
  }
  /** @internal 5.8 steps 2–4: stamp, then the record written in place by writeWith. */
  _write(w: RmpWriter, t: EncodedTopic, flags: number, payload: Uint8Array): number {
    const total = this._size(t, payload);
    this._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    this.#fT = t; this.#fFlags = flags; this.#fPayload = payload;
    let seq: number;
    try { seq = w.writeWith(total, this.#fill); } finally { this.#fPayload = EMPTY; }
    this.#st.published++;
    return seq;
  }
  #flags(opts: PublishOptions | undefined): number {
    if (opts === undefined) return 0;
    if (opts === null || typeof opts !== 'object') throw topicError('ERR_INVALID_ARGUMENT', 'publish options must be an object');
    return opts.postToDescendants === true ? FLAG_POST_TO_DESCENDANTS : 0;
  }
  #w(): RmpWriter {
    const w = this.#writer;
    return w !== undefined && !this.#closed ? w : this._writer();
  }

  /** Publish one message; returns its seq. May wait per the backpressure policy. */
  publish(topic: string, payload: Uint8Array, opts?: PublishOptions): number {
    const w = this.#w();
    return this._write(w, this._pubTopic(topic), this.#flags(opts), payload);
  }

  /** Never waits for readers; false under backpressure. */
  tryPublish(topic: string, payload: Uint8Array, opts?: PublishOptions): boolean {
    const w = this.#w();
    const t = this._pubTopic(topic), flags = this.#flags(opts);
    const total = this._size(t, payload);
    this._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    this.#fT = t; this.#fFlags = flags; this.#fPayload = payload;
    let ok: boolean;
    try { ok = w.tryWriteWith(total, this.#fill); } finally { this.#fPayload = EMPTY; }
    if (ok) this.#st.published++;
    return ok;
  }

  /** Waits for readers and the writer lock without blocking the thread. The payload is copied into the ring
   *  when the record is written, so it must not change until the promise settles (as rmp's writeAsync). */
  async publishAsync(topic: string, payload: Uint8Array, opts: PublishOptions & { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    const w = this.#w();
    const t = this._pubTopic(topic), flags = this.#flags(opts);
    const total = this._size(t, payload);
    this._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    const seq = await w.writeWithAsync(total, this._asyncFill(t, flags, payload), { signal: opts.signal, timeoutMs: opts.timeoutMs });
    this.#st.published++;
    return seq;
  }

  /** Publisher bound to one topic (validated and encoded once). */
  publisher(topic: string, opts: PublisherOptions = {}): TopicPublisher {
    this._writer();
    if (opts === null || typeof opts !== 'object') throw topicError('ERR_INVALID_ARGUMENT', 'publisher options must be an object');
    const p = new TopicPublisher(this, this._encodeTopic(topic), opts);
    this.#publishers.add(p);
    return p;
  }
  /** @internal */
  _publisherClosed(p: TopicPublisher): void { this.#publishers.delete(p); }
  /** @internal */
  _publisherError(error: unknown, publisher: TopicPublisher): void { this.#emitError({ error, publisher }); }

  // ================= subscribing (5.4) =================
  /** Async-iterator subscription. */
  subscribe(topic: string, opts?: SubscribeOptions): Subscription;
  /** Callback subscription (handler runs synchronously inside the pump). */
  subscribe(topic: string, handler: (msg: TopicMessage) => void, opts?: SubscribeOptions): Subscription;
  subscribe(topic: string, a?: SubscribeOptions | ((msg: TopicMessage) => void), b?: SubscribeOptions): Subscription {
    this.#check();
    let handler: ((msg: TopicMessage) => void) | undefined, opts: SubscribeOptions | undefined;
    if (typeof a === 'function') { handler = a; opts = b; } else if (a === undefined || (a !== null && typeof a === 'object')) opts = a;
    else throw topicError('ERR_INVALID_ARGUMENT', 'handler must be a function');
    opts ??= {};
    if (opts === null || typeof opts !== 'object') throw topicError('ERR_INVALID_ARGUMENT', 'subscribe options must be an object');
    const matching: Matching = opts.matching ?? 'segment';
    if (matching !== 'segment' && matching !== 'prefix') throw topicError('ERR_INVALID_ARGUMENT', `matching must be segment or prefix, got ${String(matching)}`);
    const oqf = opts.onQueueFull ?? 'pause';
    if (oqf !== 'pause' && oqf !== 'drop-oldest') throw topicError('ERR_INVALID_ARGUMENT', `onQueueFull must be pause or drop-oldest, got ${String(oqf)}`);
    const hwm = opts.highWaterMark ?? 1024;
    if (typeof hwm !== 'number' || !Number.isInteger(hwm) || hwm < 1) throw topicError('ERR_INVALID_ARGUMENT', `highWaterMark must be an integer >= 1, got ${String(hwm)}`);
    if (opts.onError !== undefined && typeof opts.onError !== 'function') throw topicError('ERR_INVALID_ARGUMENT', 'onError must be a function');
    const signal = opts.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw topicError('ERR_INVALID_ARGUMENT', 'signal must be an AbortSignal');
    if (signal?.aborted) throw topicError('ERR_ABORTED', 'subscribe aborted', undefined, signal.reason);
    const bytes = encodeTopic(topic, this.#o.maxTopicBytes);
    // step 2: reader first (allocated or reactivated at the stream end), then the generation bump
    if (this.#reader === undefined) {
      this.#reader = this.#rmp.createReader({
        notifier: this.#o.notifier, wait: this.#o.wait, autoResync: this.#o.autoResync,
        onOverrun: (info) => { this.#overruns.push(info); },
      });
    } else if (!this.#reader.active) { this.#reader.activate(); this.#stalled = false; }
    this.#deactivateAfterDrain = false;
    const generation = Number(Atomics.add(this.#gen, GEN_INDEX, 1n)) + 1;
    testPoint('topic.subscribe.afterBump');
    const sub = new Subscription(this, {
      topic, key: byteKey(bytes), order: this.#order++, generation, descendants: opts.descendants === true, matching,
      handler, copy: opts.copy !== false, throwOnOverrun: opts.throwOnOverrun === true, onError: opts.onError, hwm, pause: oqf === 'pause',
    });
    this.#insert(sub);
    this.#subs.add(sub);
    if (this.#subs.size === 1) this.#emit('first-subscription', { subscription: sub });
    this.#startPump();
    sub._watch(signal);
    return sub;
  }

  #insert(s: Subscription): void {
    const add = (m: Map<string, Subscription[]>) => { const l = m.get(s._key); if (l) l.push(s); else m.set(s._key, [s]); };
    add(this.#exact);
    if (s.descendants) { if (s.matching === 'segment') add(this.#segDesc); else this.#prefixDesc.push(s); }
    this.#cache = new Array(CACHE_SIZE);
  }
  #remove(s: Subscription): void {
    const del = (m: Map<string, Subscription[]>) => {
      const l = m.get(s._key); if (!l) return;
      const i = l.indexOf(s); if (i >= 0) l.splice(i, 1);
      if (l.length === 0) m.delete(s._key);
    };
    del(this.#exact); del(this.#segDesc);
    this.#prefixDesc = this.#prefixDesc.filter((x) => x !== s);
    this.#cache = new Array(CACHE_SIZE);
  }

  /** @internal (Subscription close, 5.7) */
  _closeSubscription(s: Subscription): void {
    if (!this.#subs.delete(s)) return;
    this.#remove(s);
    if (this.#subs.size === 0) {
      this.#ac.abort();
      if (this.#draining) this.#deactivateAfterDrain = true;
      else if (this.#reader !== undefined && !this.#closed) this.#reader.deactivate();
      this.#emit('last-subscription-closed', {});
    } else if (this.#paused && this.#capacity() > 0) { this.#paused = false; this.#startPump(); } // the full queue went away
  }
  /** @internal an iterator consumer pulled: restart a paused pump. */
  _pulled(_s: Subscription): void {
    if (this.#paused && this.#capacity() > 0) { this.#paused = false; this.#startPump(); }
  }

  /** Candidates of one message topic (byte key) and pd flag, in creation order (5.3). */
  #candidates(w: string, pd: boolean): Subscription[] {
    const set = new Set<Subscription>();
    const addAll = (l: Subscription[] | undefined) => { if (l) for (const s of l) set.add(s); };
    addAll(this.#exact.get(w));
    if (this.#segDesc.size > 0) {
      addAll(this.#segDesc.get(''));
      addAll(this.#segDesc.get(w));
      for (let k = 0; k < w.length; k++) {
        if (w.charCodeAt(k) !== 0x2f) continue;
        if (k > 0) addAll(this.#segDesc.get(w.slice(0, k)));
        addAll(this.#segDesc.get(w.slice(0, k + 1)));
      }
    }
    for (const s of this.#prefixDesc) if (w.startsWith(s._key)) set.add(s);
    if (pd) for (const s of this.#subs) if (anc(w, s._key, s.matching)) set.add(s);
    return [...set].sort((x, y) => x._order - y._order);
  }

  // ================= dispatch (5.5) =================
  #inspect(v: Uint8Array, meta: MessageMeta): Subscription[] | typeof SKIP {
    const len = v.length;
    if (this.#closed || this.#subs.size === 0) { this.#st.skippedNoMatch++; return SKIP; }
    if (len < HEADER_FIXED || v[8] !== RECORD_VERSION || (v[9]! & 0xfe) !== 0) { this.#st.malformed++; return SKIP; }
    const tl = v[10]! | (v[11]! << 8);
    const H = headerSize(tl);
    if (H > len) { this.#st.malformed++; return SKIP; }
    const stamp = readStamp(v, 0);
    const pd = (v[9]! & FLAG_POST_TO_DESCENDANTS) !== 0;
    // topic cache: length + FNV-1a, verified by byte comparison
    const te = HEADER_FIXED + tl;
    const h = fnv1a(v, HEADER_FIXED, te);
    const slot = (h ^ tl) & (CACHE_SIZE - 1);
    let e = this.#cache[slot];
    if (e === undefined || e.hash !== h || e.bytes.length !== tl || !sameBytes(e.bytes, v, HEADER_FIXED)) {
      const bytes = v.slice(HEADER_FIXED, te);
      e = { hash: h, bytes, key: byteKey(bytes), topic: null, plain: undefined, pd: undefined };
      this.#cache[slot] = e;
    }
    let cands = pd ? e.pd : e.plain;
    if (cands === undefined) { cands = this.#candidates(e.key, pd); if (pd) e.pd = cands; else e.plain = cands; }
    const out = this.#out;
    out.length = 0;
    for (const s of cands) {
      if (s.closed) continue;
      if (s.generation > stamp) { s._stats.droppedOlderGeneration++; this.#st.droppedOlderGeneration++; continue; }
      out.push(s);
    }
    if (out.length === 0) { this.#st.skippedNoMatch++; return SKIP; }
    const plen = len - H;
    // One copy out of the ring: into the scratch buffer when a `copy: false` callback needs a view, else
    // straight into the fresh array the last copying candidate receives (the others get copies of it).
    let view = false, lastFresh = -1;
    for (let k = 0; k < out.length; k++) { const s = out[k]!; if (s._handler !== undefined && !s._copy) view = true; else lastFresh = k; }
    if (view || plen === 0) {
      if (this.#scratch.length < plen) { this.#scratch = new Uint8Array(Math.min(this.maxPayload, Math.max(plen, this.#scratch.length * 2, 256))); this.#scratchView = EMPTY; }
      if (plen > 0) this.#scratch.set(v.subarray(H), 0);
      this.#curFresh = undefined;
    } else this.#curFresh = v.slice(H);
    this.#st.payloadBytesCopied += plen;
    this.#curEntry = e; this.#curLen = plen; this.#curStamp = stamp; this.#curPd = pd; this.#curLastFresh = lastFresh;
    void meta;
    return out;
  }

  #commit(cands: Subscription[], meta: MessageMeta): void {
    const e = this.#curEntry!;
    if (e.topic === null) e.topic = decodeTopic(e.bytes);
    const topic = e.topic;
    if (topic === undefined) { this.#st.malformed++; return; }
    const seq = meta.seq, len = this.#curLen, stamp = this.#curStamp, pd = this.#curPd;
    const fresh = this.#curFresh, lastFresh = this.#curLastFresh;
    this.#curFresh = undefined;
    let payload = this.#scratchView;
    if (fresh === undefined && payload.length !== len) payload = this.#scratchView = this.#scratch.subarray(0, len);
    for (let i = 0; i < cands.length; i++) {
      const s = cands[i]!;
      if (s.closed) continue;
      const h = s._handler;
      if (h === undefined) {
        s._push({ topic, payload: fresh === undefined ? payload.slice() : i === lastFresh ? fresh : fresh.slice(), seq, postToDescendants: pd, generation: stamp });
      } else {
        let msg: TopicMessage;
        if (s._copy) msg = { topic, payload: fresh === undefined ? payload.slice() : i === lastFresh ? fresh : fresh.slice(), seq, postToDescendants: pd, generation: stamp };
        else {
          const vw = this.#view;
          vw.topic = topic; vw.payload = payload; vw.seq = seq; vw.postToDescendants = pd; vw.generation = stamp;
          msg = vw;
        }
        s._stats.delivered++;
        try { h(msg); } catch (err) { this.#callbackError(err, s, msg); }
      }
      this.#st.delivered++;
    }
  }

  #callbackError(error: unknown, s: Subscription, msg: TopicMessage): void {
    if (s._onError !== undefined) {
      try { s._onError(error, msg); } catch (e2) { queueThrow(e2); }
      return;
    }
    this.#emitError({ error, subscription: s });
  }
  #emitError(e: TopicEvents['error']): void {
    const ls = this.#listeners.get('error');
    if ((ls === undefined || ls.size === 0) && this.#streams.size === 0) { queueThrow(e.error); return; }
    this.#emit('error', e);
  }

  /** Smallest free capacity among pause-mode iterator queues (Infinity if none). */
  #capacity(): number {
    let cap = Infinity;
    for (const s of this.#subs) {
      if (s._handler !== undefined || !s._pause) continue;
      const c = s._hwm - s._queued;
      if (c < cap) cap = c;
    }
    return cap < 0 ? 0 : cap;
  }

  #wantPump(): boolean { return !this.#closed && this.#subs.size > 0 && !this.#paused && !this.#stalled && this.#reader !== undefined; }
  #startPump(): void {
    if (this.#pumpActive || !this.#wantPump()) return;
    if (this.#ac.signal.aborted) this.#ac = new AbortController();
    this.#pumpActive = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      while (this.#wantPump()) {
        const cap = this.#capacity();
        if (cap === 0) { this.#paused = true; break; }
        const reader = this.#reader!;
        testPoint('topic.pump.beforeDrain');
        const lim = Math.min(this.#o.maxBatch, cap);
        const n = this.#drainStep(reader, lim);
        if (!this.#wantPump()) break;
        if (reader.expired && !this.#o.autoResync) { this.#stalled = true; break; }
        if (n >= lim) { await new Promise((r) => setImmediate(r)); continue; }
        const signal = this.#ac.signal;
        if (signal.aborted) break;
        try { await reader.waitForData({ signal }); } catch (e) {
          if (isShmkitError(e) && (e.code === 'ERR_ABORTED' || e.code === 'ERR_CLOSED')) break;
          throw e;
        }
      }
    } catch (e) {
      if (!this.#closed) this.#emitError({ error: e });
    } finally {
      this.#pumpActive = false;
      if (this.#wantPump()) this.#startPump();
    }
  }

  #drainStep(reader: RmpReader, lim: number): number {
    this.#draining = true;
    try { return reader.drainWith(this.#handler, lim); } finally { this.#draining = false; this.#afterDrain(); }
  }
  /** @internal one synchronous drain step outside the pump (tests: in-flight overwrite). */
  _drainNow(max = Infinity): number {
    this.#check();
    const r = this.#reader;
    if (r === undefined || !r.active || this.#draining) return 0;
    return this.#drainStep(r, max);
  }

  #afterDrain(): void {
    if (this.#overruns.length > 0) {
      const list = this.#overruns; this.#overruns = [];
      for (const info of list) this.#dispatchOverrun(info);
    }
    if (this.#closeAfterDrain) { this.#closeAfterDrain = false; this.#finishClose(); return; }
    if (this.#deactivateAfterDrain) {
      this.#deactivateAfterDrain = false;
      if (this.#subs.size === 0 && this.#reader !== undefined && !this.#closed) this.#reader.deactivate();
    }
  }

  /** 5.6 */
  #dispatchOverrun(info: OverrunInfo): void {
    const st = this.#st;
    st.overruns++; st.lostBytes += info.lostBytes; st.lostMessages += info.lostMessages ?? 0;
    for (const s of this.#subs) s._stats.overruns++;
    this.#emit('overrun', { ...info });
    for (const s of [...this.#subs]) {
      if (!s._throwOnOverrun) continue;
      const err = topicError(info.reason === 'corrupt' ? 'ERR_CORRUPT' : 'ERR_LOSS_DETECTED', `${this.name}: overrun (${info.reason}, ${info.lostBytes} bytes lost)`, { ...info });
      if (s._handler !== undefined) { s._end('user'); this.#callbackError(err, s, undefined as unknown as TopicMessage); }
      else s._end('error', err);
    }
  }

  /** Jump this handle's reader to the stream end (needed after an overrun when autoResync is false). */
  resync(): OverrunInfo {
    this.#check();
    const r = this.#reader;
    if (r === undefined || !r.active) return { reason: 'skipped', lostBytes: 0, lostMessages: undefined, firstLostSeq: undefined, resynced: true };
    const info = r.resync();
    this.#stalled = false;
    this.#startPump();
    return info;
  }

  // ================= events =================
  on<K extends keyof TopicEvents>(event: K, listener: (e: TopicEvents[K]) => void): () => void {
    if (!(EVENTS as readonly string[]).includes(event)) throw topicError('ERR_INVALID_ARGUMENT', `unknown event ${String(event)}`);
    if (typeof listener !== 'function') throw topicError('ERR_INVALID_ARGUMENT', 'listener must be a function');
    let set = this.#listeners.get(event);
    if (!set) { set = new Set(); this.#listeners.set(event, set); }
    const l = listener as (e: never) => void;
    set.add(l);
    return () => { set.delete(l); };
  }

  #emit<K extends keyof TopicEvents>(type: K, e: TopicEvents[K]): void {
    const ls = this.#listeners.get(type);
    if (ls) for (const l of [...ls]) { try { (l as (e: TopicEvents[K]) => void)(e); } catch (err) { queueThrow(err); } }
    if (this.#streams.size > 0) {
      const tagged = { type, ...e } as TopicStatus;
      for (const s of this.#streams) {
        if (s.pending) { const p = s.pending; s.pending = undefined; p({ done: false, value: tagged }); } else s.queue.push(tagged);
      }
    }
  }

  /** The same events as tagged objects; ends (done) when the channel closes or the signal aborts. */
  events(opts: { signal?: AbortSignal } = {}): AsyncIterable<TopicStatus> {
    this.#check();
    const signal = opts.signal;
    const streams = this.#streams;
    const s: EventStream = {
      queue: [], pending: undefined, done: false,
      end() {
        if (s.done) return;
        s.done = true; streams.delete(s);
        signal?.removeEventListener('abort', onAbort);
        if (s.pending) { const p = s.pending; s.pending = undefined; p({ done: true, value: undefined }); }
      },
    };
    const onAbort = () => s.end();
    if (signal?.aborted) s.done = true;
    else { streams.add(s); signal?.addEventListener('abort', onAbort, { once: true }); }
    const it: AsyncIterator<TopicStatus> = {
      next: () => {
        const v = s.queue.shift();
        if (v !== undefined) return Promise.resolve({ done: false, value: v });
        if (s.done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => { s.pending = resolve; });
      },
      return: () => { s.end(); return Promise.resolve({ done: true, value: undefined }); },
    };
    return { [Symbol.asyncIterator]: () => it };
  }

  stats(): TopicStats {
    this.#check();
    return { ...this.#st, subscriptions: this.#subs.size, generation: this._stamp() };
  }

  /** Flushes coalescing publishers, closes all subscriptions (iterators finish), frees the slot. */
  close(): void {
    if (this.#closed) return;
    for (const p of [...this.#publishers]) { try { p.close(); } catch (e) { this.#emitError({ error: e, publisher: p }); } }
    for (const s of [...this.#subs]) s._end('channel');
    this.#closed = true;
    this.#ac.abort();
    for (const s of [...this.#streams]) s.end();
    if (this.#draining) this.#closeAfterDrain = true;
    else this.#finishClose();
  }
  #finishClose(): void {
    this.#reader?.close(); this.#reader = undefined;
    this.#writer?.close(); this.#writer = undefined;
    this.#rmp.close();
  }
  [Symbol.dispose](): void { this.close(); }
}

function sameBytes(a: Uint8Array, v: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== v[at + i]) return false;
  return true;
}
