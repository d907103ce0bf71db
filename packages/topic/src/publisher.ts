import { isShmkitError, type RmpWriter } from '@shmkit/rmp';
import { topicError } from './errors.js';
import { FLAG_POST_TO_DESCENDANTS, headerSize, writeHeader } from './record.js';
import { testPoint } from './testpoints.js';

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
  _stamp(): number;
  _writeRecord(topic: Uint8Array, topicLen: number, flags: number, payload: Uint8Array): number;
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
  readonly #bytes: Uint8Array;
  readonly #flags: number;
  readonly #coalesce: boolean;
  readonly #H: number;
  #stage: Uint8Array = new Uint8Array(0);
  #stageLen = 0;
  /** offset, length pairs of staged records */
  #ents: number[] = [];
  #scheduled = false;
  #closed = false;

  /** @internal */
  constructor(host: PublisherHost, topic: string, bytes: Uint8Array, opts: PublisherOptions) {
    this.#host = host; this.topic = topic; this.#bytes = bytes;
    this.#flags = opts.postToDescendants === true ? FLAG_POST_TO_DESCENDANTS : 0;
    this.#coalesce = opts.coalesce === true;
    this.#H = headerSize(bytes.length);
  }

  get staged(): number { return this.#ents.length >> 1; }

  #check(): void { if (this.#closed) throw topicError('ERR_CLOSED', `publisher of ${JSON.stringify(this.topic)} closed`); }
  #size(payload: unknown): number {
    checkPayload(payload);
    const total = this.#H + payload.length;
    if (total > this.#host.maxPayload) throw tooLarge(total, this.#host.maxPayload);
    return total;
  }
  /** One complete record in a fresh buffer, stamped now. */
  #record(payload: Uint8Array, stamp: number): Uint8Array {
    const rec = new Uint8Array(this.#H + payload.length);
    writeHeader(rec, 0, stamp, this.#flags, this.#bytes, this.#bytes.length);
    rec.set(payload, this.#H);
    return rec;
  }

  /** Direct mode: returns the seq. Coalescing mode: copies the payload, returns undefined. */
  publish(payload: Uint8Array): number | undefined {
    this.#check();
    if (!this.#coalesce) return this.#host._writeRecord(this.#bytes, this.#bytes.length, this.#flags, payload);
    const total = this.#size(payload);
    const stamp = this.#host._stamp();
    testPoint('topic.publish.afterStamp');
    if (this.#stageLen + total > this.#stage.length) {
      const next = new Uint8Array(Math.max(this.#stage.length * 2, this.#stageLen + total, 4096));
      next.set(this.#stage.subarray(0, this.#stageLen));
      this.#stage = next;
    }
    const at = this.#stageLen;
    writeHeader(this.#stage, at, stamp, this.#flags, this.#bytes, this.#bytes.length);
    this.#stage.set(payload, at + this.#H);
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
    for (const p of payloads) this.#size(p);
    this.#flush();
    const stamp = this.#host._stamp();
    testPoint('topic.publish.afterStamp');
    const recs = payloads.map((p) => this.#record(p, stamp));
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
    this.#size(payload);
    this.#flush();
    const stamp = this.#host._stamp();
    testPoint('topic.publish.afterStamp');
    const seq = await this.#host._writer().writeAsync(this.#record(payload, stamp), opts);
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
