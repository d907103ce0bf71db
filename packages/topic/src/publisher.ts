import { isShmkitError, type RmpWriter } from '@shmkit/rmp';
import { topicError } from './errors.js';
import { copyBytes, FLAG_POST_TO_DESCENDANTS, type EncodedTopic } from './record.js';

const EMPTY = new Uint8Array(0);
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
  _header(ring: Uint8Array, at: number, lo: number, hi: number, flags: number, t: EncodedTopic): number;
  _asyncFill(t: EncodedTopic, flags: number, payload: Uint8Array): (ring: Uint8Array, at: number) => void;
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
  /** Staged payload bytes (copied at publish()). */
  #stage: Uint8Array = EMPTY;
  #stageLen = 0;
  /** Record length (H + payload) of every staged message: the lengths of writeManyWith. */
  #lens: number[] = [];
  /** Per staged message: payload offset in #stage, stamp lo, stamp hi. */
  #meta: number[] = [];
  // what the fills of the batch being written read (no closure per record)
  #wStage: Uint8Array = EMPTY;
  #wMeta: number[] = [];
  #wLens: number[] = [];
  #wPayloads: readonly Uint8Array[] = [];
  readonly #flushFill = (ring: Uint8Array, at: number, k: number): void => {
    const m = this.#wMeta, H = this.#host._header(ring, at, m[3 * k + 1]!, m[3 * k + 2]!, this.#flags, this.#t);
    copyBytes(ring, at + H, this.#wStage, m[3 * k]!, this.#wLens[k]! - H);
  };
  readonly #manyFill = (ring: Uint8Array, at: number, k: number): void => {
    const h = this.#host, p = this.#wPayloads[k]!;
    copyBytes(ring, at + h._header(ring, at, h._lo, h._hi, this.#flags, this.#t), p, 0, p.length);
  };
  #scheduled = false;
  #closed = false;

  /** @internal */
  constructor(host: PublisherHost, t: EncodedTopic, opts: PublisherOptions) {
    this.#host = host; this.topic = t.topic; this.#t = t;
    this.#flags = opts.postToDescendants === true ? FLAG_POST_TO_DESCENDANTS : 0;
    this.#coalesce = opts.coalesce === true;
  }

  get staged(): number { return this.#lens.length; }

  #check(): void { if (this.#closed) throw topicError('ERR_CLOSED', `publisher of ${JSON.stringify(this.topic)} closed`); }

  /** Direct mode: returns the seq. Coalescing mode: copies the payload, returns undefined. */
  publish(payload: Uint8Array): number | undefined {
    this.#check();
    const h = this.#host;
    if (!this.#coalesce) return h._write(h._writer(), this.#t, this.#flags, payload);
    const total = h._size(this.#t, payload);
    h._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    const len = payload.length, at = this.#stageLen;
    if (at + len > this.#stage.length) {
      const next = new Uint8Array(Math.max(this.#stage.length * 2, at + len, 4096));
      next.set(this.#stage.subarray(0, at));
      this.#stage = next;
    }
    copyBytes(this.#stage, at, payload, 0, len);
    this.#stageLen = at + len;
    this.#lens.push(total);
    this.#meta.push(at, h._lo, h._hi);
    if (!this.#scheduled) { this.#scheduled = true; queueMicrotask(this.#autoFlush); }
    return undefined;
  }

  readonly #autoFlush = (): void => {
    this.#scheduled = false;
    if (this.#closed && this.#lens.length === 0) return;
    try { this.#flush(); } catch (e) { this.#host._publisherError(e, this); }
  };

  /** Write everything staged now, in place (writeManyWith: one lock, one notification check); returns how many were written. */
  #flush(): number {
    const n = this.#lens.length;
    if (n === 0) return 0;
    // publishes made during the flush go to the next one: the batch keeps its arrays, the next one starts empty
    this.#wStage = this.#stage; this.#wMeta = this.#meta; this.#wLens = this.#lens;
    this.#stage = EMPTY; this.#stageLen = 0; this.#meta = []; this.#lens = [];
    let written = 0;
    try { written = this.#host._writer().writeManyWith(this.#wLens, this.#flushFill); } catch (e) {
      const w = isShmkitError(e) && typeof e.details.written === 'number' ? e.details.written : 0;
      this.#host._countPublished(w);
      if (isShmkitError(e)) throw topicError(e.code, e.message, { ...e.details, written: w, notWritten: n - w }, e);
      throw e;
    } finally { this.#wStage = EMPTY; this.#wMeta = []; this.#wLens = []; }
    this.#host._countPublished(written);
    return written;
  }

  /** Coalescing mode: write everything staged now; returns how many were written. Throws on failure. */
  flush(): number { this.#check(); return this.#flush(); }

  /** All under one lock (staged messages first); returns the count. */
  publishMany(payloads: readonly Uint8Array[]): number {
    this.#check();
    if (!Array.isArray(payloads)) throw topicError('ERR_INVALID_ARGUMENT', 'payloads must be an array');
    const lens: number[] = new Array(payloads.length);
    for (let k = 0; k < payloads.length; k++) lens[k] = this.#host._size(this.#t, payloads[k]);
    this.#flush();
    this.#host._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    let written = 0;
    this.#wPayloads = payloads;
    try { written = this.#host._writer().writeManyWith(lens, this.#manyFill); } catch (e) {
      if (isShmkitError(e) && typeof e.details.written === 'number') this.#host._countPublished(e.details.written);
      throw e;
    } finally { this.#wPayloads = []; }
    this.#host._countPublished(written);
    return written;
  }

  async publishAsync(payload: Uint8Array, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    this.#check();
    const h = this.#host, total = h._size(this.#t, payload);
    this.#flush();
    h._loadStamp();
    if (pointsEnabled) testPoint('topic.publish.afterStamp');
    // written in place when the record is written: the payload must not change until the promise settles
    const seq = await h._writer().writeWithAsync(total, h._asyncFill(this.#t, this.#flags, payload), opts);
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
