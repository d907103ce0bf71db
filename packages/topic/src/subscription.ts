import { topicError } from './errors.js';
import type { Matching } from './record.js';

export interface TopicMessage {
  /** The message's topic (decoded once per message). */
  readonly topic: string;
  readonly payload: Uint8Array;
  /** RMP global sequence number. */
  readonly seq: number;
  readonly postToDescendants: boolean;
  /** Generation stamp carried by the message. */
  readonly generation: number;
}

export interface SubscribeOptions {
  /** Receive descendants. Default false. */
  descendants?: boolean;
  /** Default 'segment'. */
  matching?: Matching;
  /** Abort closes the subscription (a pending next() rejects ERR_ABORTED). */
  signal?: AbortSignal;
  /** Iterator queue limit in messages. Default 1024. */
  highWaterMark?: number;
  /** Default 'pause'. */
  onQueueFull?: 'pause' | 'drop-oldest';
  /** Callbacks only: a fresh copy per message (true) or a view valid during the call (false). Default true. */
  copy?: boolean;
  /** Default false. */
  throwOnOverrun?: boolean;
  /** Receives errors thrown by the callback (and throwOnOverrun errors of callbacks). */
  onError?: (error: unknown, msg: TopicMessage) => void;
}

export interface SubscriptionStats { delivered: number; droppedOlderGeneration: number; queueDrops: number; overruns: number }

/** What a subscription needs from its channel (internal). */
export interface SubscriptionHost {
  _closeSubscription(s: Subscription): void;
  _pulled(s: Subscription): void;
}

type Pending = { resolve: (r: IteratorResult<TopicMessage>) => void; reject: (e: unknown) => void };
const DONE: IteratorResult<TopicMessage> = { done: true, value: undefined };

/** One subscription: an async iterator (queue) or a callback run synchronously inside the pump. */
export class Subscription implements AsyncIterable<TopicMessage>, Disposable {
  readonly topic: string;
  readonly descendants: boolean;
  readonly matching: Matching;
  /** Messages stamped below this are dropped. */
  readonly generation: number;
  /** @internal byte key of the topic (one char per UTF-8 byte). */
  readonly _key: string;
  /** @internal creation order within the handle. */
  readonly _order: number;
  /** @internal */
  readonly _handler: ((msg: TopicMessage) => void) | undefined;
  /** @internal */
  readonly _copy: boolean;
  /** @internal */
  readonly _throwOnOverrun: boolean;
  /** @internal */
  readonly _onError: ((error: unknown, msg: TopicMessage) => void) | undefined;
  /** @internal */
  readonly _hwm: number;
  /** @internal */
  readonly _pause: boolean;
  readonly #stats: SubscriptionStats = { delivered: 0, droppedOlderGeneration: 0, queueDrops: 0, overruns: 0 };
  readonly #host: SubscriptionHost;
  #queue: TopicMessage[] = [];
  #head = 0;
  #pending: Pending | undefined;
  /** Delivered to the consumer once the queue is empty (abort, throwOnOverrun). */
  #error: unknown;
  #closed = false;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  /** @internal */
  constructor(host: SubscriptionHost, init: {
    topic: string; key: string; order: number; generation: number; descendants: boolean; matching: Matching;
    handler: ((msg: TopicMessage) => void) | undefined; copy: boolean; throwOnOverrun: boolean;
    onError: ((error: unknown, msg: TopicMessage) => void) | undefined; hwm: number; pause: boolean;
  }) {
    this.#host = host;
    this.topic = init.topic; this._key = init.key; this._order = init.order; this.generation = init.generation;
    this.descendants = init.descendants; this.matching = init.matching; this._handler = init.handler;
    this._copy = init.copy; this._throwOnOverrun = init.throwOnOverrun; this._onError = init.onError;
    this._hwm = init.hwm; this._pause = init.pause;
  }

  get closed(): boolean { return this.#closed; }
  get stats(): Readonly<SubscriptionStats> { return this.#stats; }
  /** @internal mutable counters */
  get _stats(): SubscriptionStats { return this.#stats; }
  /** @internal messages waiting in the iterator queue */
  get _queued(): number { return this.#queue.length - this.#head; }

  /** @internal */
  _watch(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    this.#signal = signal;
    this.#onAbort = () => this._end('abort', topicError('ERR_ABORTED', 'subscription aborted', undefined, signal.reason));
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** @internal an iterator delivery (a fresh copy). */
  _push(m: TopicMessage): void {
    if (this.#pending !== undefined) {
      const p = this.#pending; this.#pending = undefined;
      p.resolve({ done: false, value: m });
    } else {
      if (!this._pause && this._queued >= this._hwm) { this.#queue[this.#head++] = undefined as unknown as TopicMessage; this.#stats.queueDrops++; }
      this.#queue.push(m);
    }
    this.#stats.delivered++;
  }

  #shift(): TopicMessage | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const m = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as TopicMessage;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) { this.#queue = this.#queue.slice(this.#head); this.#head = 0; }
    return m;
  }

  next(): Promise<IteratorResult<TopicMessage>> {
    if (this._handler !== undefined) return Promise.reject(topicError('ERR_INVALID_STATE', 'a callback subscription cannot be iterated'));
    const m = this.#shift();
    if (m !== undefined) {
      if (!this.#closed && this._pause && this._queued <= this._hwm >> 1) this.#host._pulled(this);
      return Promise.resolve({ done: false, value: m });
    }
    if (this.#error !== undefined) { const e = this.#error; this.#error = undefined; return Promise.reject(e); }
    if (this.#closed) return Promise.resolve(DONE);
    if (this.#pending !== undefined) return Promise.reject(topicError('ERR_INVALID_STATE', 'next() called while another next() is pending'));
    if (this._pause) this.#host._pulled(this);
    return new Promise((resolve, reject) => { this.#pending = { resolve, reject }; });
  }

  [Symbol.asyncIterator](): AsyncIterator<TopicMessage> {
    return {
      next: () => this.next(),
      return: () => { this.close(); return Promise.resolve(DONE); },
    };
  }

  /**
   * @internal Close for a reason: 'user'/'channel' drop the queue and end with done; 'abort' drops the
   * queue and rejects with the error; 'error' keeps the queue, then rejects with the error.
   */
  _end(kind: 'user' | 'channel' | 'abort' | 'error', error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#signal !== undefined && this.#onAbort !== undefined) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#host._closeSubscription(this);
    if (kind !== 'error') { this.#queue = []; this.#head = 0; }
    if (kind === 'abort' || kind === 'error') {
      if (this.#pending !== undefined) { const p = this.#pending; this.#pending = undefined; p.reject(error); }
      else if (this._handler === undefined) this.#error = error;
    } else if (this.#pending !== undefined) { const p = this.#pending; this.#pending = undefined; p.resolve(DONE); }
  }

  /** Idempotent; a pending next() resolves done. */
  close(): void { this._end('user'); }
  [Symbol.dispose](): void { this.close(); }
}
