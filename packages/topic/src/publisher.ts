import { isShmkitError, type RmpWriter } from '@shmkit/rmp';
import { topicError } from './errors.js';
import { FLAG_POST_TO_DESCENDANTS, putHeader, type EncodedTopic } from './record.js';
import { pointsEnabled, testPoint } from './testpoints.js';

export interface PublishOptions { /** Default false. */ postToDescendants?: boolean }
export interface PublisherOptions {
  /** Default false. */
  postToDescendants?: boolean;
  /** Stage messages and write all of one tick under one lock, one notification check. Default false. */
  coalesce?: boolean;
}

/** What a publisher needs from its channel (internal). */
export interface PublisherHost {
  readonly maxPayload: number;
  _writer(): RmpWriter;
  /** Loads the shared generation counter into _lo / _hi. */
  _loadStamp(): void;
  readonly _lo: number;
  readonly _hi: number;
  _size(t: EncodedTopic, payload: unknown): number;
  _write(w: RmpWriter, t: EncodedTopic, flags: number, payload: Uint8Array): number;
  _countPublished(n: number): void;
  _publisherError(error: unknown, publisher: TopicPublisher): void;
  _publisherClosed(p: TopicPublisher): void;
}

export function checkPayload(payload: unknown): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array)) throw topicError('ERR_INVALID_ARGUMENT', 'payload must be a Uint8Array');
}
export function tooLarge(size: number, max: number): Error {
  return topicError('ERR_MESSAGE_TOO_LARGE', `record of ${size} bytes (topic header + payload) exceeds maxPayload ${max}`, { size, max });
}

/** Publisher bound to one topic (validated and encoded once). */
export class TopicPublisher implements Disposable {
  readonly topic: string;
  readonly #host: PublisherHost;
  readonly #t: EncodedTopic;
  readonly #flags: number;
  readonly #coalesce: boolean;
  #stage: Uint8Array = new Uint8Array(0);
  #stageLen = 0;
  /** offset, length pairs of staged records */
  #ents: number[] = [];
  #scheduled = false;
  #closed = false;

  /** @internal */
  constructor(host: PublisherHost, t: EncodedTopic, opts: PublisherOptions) {
    this.#host = host; this.topic = t.topic; this.#t = t;
    this.#flags = opts.postToDescendants === true ? FLAG_POST_TO_DESCENDANTS : 0;
    this.#coalesce = opts.coalesce === true;
  }

  get staged(): number { return this.#ents.length >> 1; }

  #check(): void { if (this.#closed) throw topicError('ERR_CLOSED', `publisher of ${JSON.stringify(this.topic)} closed`); }
  /** One complete record in a fresh buffer, with the stamp last loaded. */
  #record(payload: Uint8Array): Uint8Array {
    const h = this.#host, rec = new Uint8Array(this.#t.H + payload.length);
    rec.set(payload, putHeader(rec, 0, h._lo, h._hi, this.#flags, this.#t));
    return rec;
  }

  /** Direct mode: returns the seq. Coalescing mode: copies the payload, returns undefined. */
  publish(payload: Uint8Array): number | undefined {
    this.#check();
    const h = this.#host;
    if (!this.#coalesce) return h._write(h._writer(), this.#t, this.#flags, payload);
    const total = h._size(this.#t, payload);
    h._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    if (this.#stageLen + total > this.#stage.length) {
      const next = new Uint8Array(Math.max(this.#stage.length * 2, this.#stageLen + total, 4096));
      next.set(this.#stage.subarray(0, this.#stageLen));
      this.#stage = next;
    }
    const at = this.#stageLen;
    this.#stage.set(payload, at + putHeader(this.#stage, at, h._lo, h._hi, this.#flags, this.#t));
    this.#stageLen += total;
    this.#ents.push(at, total);
    if (!this.#scheduled) { this.#scheduled = true; queueMicrotask(this.#autoFlush); }
    return undefined;
  }

  readonly #autoFlush = (): void => {
    this.#scheduled = false;
    if (this.#closed && this.#ents.length === 0) return;
    try { this.#flush(); } catch (e) { this.#host._publisherError(e, this); }
  };

  /** Write everything staged now (one lock, one notification check); returns how many were written. */
  #flush(): number {
    const n = this.#ents.length >> 1;
    if (n === 0) return 0;
    const stage = this.#stage, ents = this.#ents;
    // publishes made during the flush go to the next one
    this.#stage = new Uint8Array(0); this.#stageLen = 0; this.#ents = [];
    const recs: Uint8Array[] = new Array(n);
    for (let k = 0; k < n; k++) recs[k] = stage.subarray(ents[2 * k]!, ents[2 * k]! + ents[2 * k + 1]!);
    let written = 0;
    try { written = this.#host._writer().writeMany(recs); } catch (e) {
      const w = isShmkitError(e) && typeof e.details.written === 'number' ? e.details.written : 0;
      this.#host._countPublished(w);
      if (isShmkitError(e)) throw topicError(e.code, e.message, { ...e.details, written: w, notWritten: n - w }, e);
      throw e;
    }
    this.#host._countPublished(written);
    return written;
  }

  /** Coalescing mode: write everything staged now; returns how many were written. Throws on failure. */
  flush(): number { this.#check(); return this.#flush(); }

  /** All under one lock (staged messages first); returns the count. */
  publishMany(payloads: readonly Uint8Array[]): number {
    this.#check();
    if (!Array.isArray(payloads)) throw topicError('ERR_INVALID_ARGUMENT', 'payloads must be an array');
    for (const p of payloads) this.#host._size(this.#t, p);
    this.#flush();
    this.#host._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    const recs = payloads.map((p) => this.#record(p));
    let written = 0;
    try { written = this.#host._writer().writeMany(recs); } catch (e) {
      if (isShmkitError(e) && typeof e.details.written === 'number') this.#host._countPublished(e.details.written);
      throw e;
    }
    this.#host._countPublished(written);
    return written;
  }

  async publishAsync(payload: Uint8Array, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    this.#check();
    this.#host._size(this.#t, payload);
    this.#flush();
    this.#host._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    const seq = await this.#host._writer().writeAsync(this.#record(payload), opts);
    this.#host._countPublished(1);
    return seq;
  }

  /** Flushes, then closes (idempotent). */
  close(): void {
    if (this.#closed) return;
    try { this.#flush(); } finally {
      this.#closed = true;
      this.#host._publisherClosed(this);
    }
  }
  [Symbol.dispose](): void { this.close(); }
}
