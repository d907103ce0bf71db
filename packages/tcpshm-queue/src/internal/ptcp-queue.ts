// The PTCP send queue (spec §4.8, §5.2–5.4) over a byte store of exactly B + 20 bytes.
import { TcpshmError } from '../errors.js';
import { HEADER, newer, roundUp8, sd, u32 } from './wire.js';

/** What the queue needs from its backing memory: a mapping (hooks are no-ops) or a write-through file. */
export interface QueueStore {
  readonly bytes: Uint8Array;
  /** The bytes [off, off+len) were changed in `bytes`: make them as persistent as a mapped store would be. */
  written(off: number, len: number): void;
  /** msync(MS_SYNC) of [off, off+len) (durable modes). */
  flush(off: number, len: number): void;
}

export const memoryStore = (bytes: Uint8Array): QueueStore => ({ bytes, written() {}, flush() {} });

export interface PtcpOptions {
  little: boolean;
  compaction: 'crash-safe' | 'reference';
  durability: 'none' | 'msync' | 'fsync-on-push';
  maxMessageSize: number;
  path?: string;
  /** Called at the named test points (§5.19). */
  point?: (name: string) => void;
}

const JOURNAL = 0x80000000;
const FW = 0, FR = 1, FS = 2, FRS = 3, FA = 4;

export class PtcpQueue {
  readonly B: number;
  readonly NB: number;
  readonly store: QueueStore;
  readonly bytes: Uint8Array;
  #dv: DataView;
  #ix: Uint32Array;
  #pair: BigUint64Array;
  #o: PtcpOptions;
  /** Unacked committed records. */
  queued = 0;
  /** Seq one past the newest committed record. */
  seqEnd = 0;
  /** Seq one past the last record handed to the socket in this link. */
  sendSeq = 0;
  pending: { at: number; blocks: number; count: number } | undefined;
  wantDrain = false;
  journalRecoveries = 0;
  msyncs = 0;
  /** A as last synced (durable modes). */
  #syncedAck = -1;

  constructor(store: QueueStore, opts: PtcpOptions) {
    this.store = store; this.bytes = store.bytes; this.#o = opts;
    this.B = store.bytes.byteLength - 20;
    if (this.B < 64 || this.B % 8 !== 0 || store.bytes.byteOffset % 8 !== 0) {
      throw new TcpshmError('ERR_INVALID_ARGUMENT', `PTCP store of ${store.bytes.byteLength} bytes is not B + 20 with B % 8 == 0`);
    }
    this.NB = this.B / 8;
    const buf = store.bytes.buffer as ArrayBuffer;
    this.#dv = new DataView(buf, store.bytes.byteOffset, store.bytes.byteLength);
    this.#ix = new Uint32Array(buf, store.bytes.byteOffset + this.B, 5);
    this.#pair = new BigUint64Array(buf, store.bytes.byteOffset + this.B, 2);
  }

  get W(): number { return Atomics.load(this.#ix, FW); }
  get R(): number { return Atomics.load(this.#ix, FR); }
  get S(): number { return Atomics.load(this.#ix, FS); }
  get RS(): number { return Atomics.load(this.#ix, FRS); }
  get A(): number { return Atomics.load(this.#ix, FA); }

  #st(i: number, v: number): void { Atomics.store(this.#ix, i, v >>> 0); this.store.written(this.B + 4 * i, 4); }
  #st64(i: number, lo: number, hi: number): void {
    Atomics.store(this.#pair, i, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    this.store.written(this.B + 8 * i, 8);
  }
  #durable(): boolean { return this.#o.durability !== 'none'; }
  #sync(off: number, len: number): void { this.store.flush(off, len); this.msyncs++; }
  syncIndex(): void { this.#sync(this.B, 20); this.#syncedAck = this.A; }

  #corrupt(reason: string, block: number): TcpshmError {
    return new TcpshmError('ERR_TCPSHM_PTCP_CORRUPT',
      `Ptcp file corrupt${this.#o.path ? ` (${this.#o.path})` : ''}: ${reason}. Remove the pair state on both sides with removeTcpshmState, or rename one side`,
      { reasonText: 'Ptcp file corrupt', details: { path: this.#o.path, reason, block } });
  }
  #size(idx: number): number { return this.#dv.getUint16(idx * 8, this.#o.little); }
  #stamp(idx: number): number { return this.#dv.getUint32(idx * 8 + 4, this.#o.little); }

  /** §5.2 steps 4–6: recovery and sanity walk. Returns (A, start, end). */
  open(): { ack: number; start: number; end: number } {
    let W = this.W, R = this.R, S = this.S;
    if ((S & JOURNAL) !== 0) {
      const R2 = S & 0x7fffffff;
      if (R2 > W) throw this.#corrupt('journal target beyond write_idx', R2);
      this.#st(FR, R2); this.#st(FS, R2); R = R2; S = R2;
      this.journalRecoveries++;
    }
    if (W > this.NB || R > W) throw this.#corrupt('indices out of range', W > this.NB ? W : R);
    if (S < R || S > W) { this.#st(FS, R); S = R; }
    const A = this.A;
    let idx = R, count = 0;
    while (idx < W) {
      const size = this.#size(idx);
      if (size < 8) throw this.#corrupt(`record size ${size} at block ${idx}`, idx);
      const blocks = roundUp8(size) / 8;
      if (idx + blocks > W) throw this.#corrupt('record overruns write_idx', idx);
      if (newer(this.#stamp(idx), A)) throw this.#corrupt('ack stamp newer than my_ack', idx);
      idx += blocks; count++;
    }
    this.queued = count;
    const RS = this.RS;
    this.seqEnd = u32(RS + count);
    this.sendSeq = RS;
    this.pending = undefined;
    return { ack: A, start: RS, end: this.seqEnd };
  }

  /** §5.2 step 7: brand-new connection. */
  zero(): void {
    this.#st64(0, 0, 0); this.#st64(1, 0, 0); this.#st(FA, 0);
    if (this.#durable()) this.syncIndex();
    this.bytes.fill(0, 0, this.B);
    this.store.written(0, this.B);
    this.queued = 0; this.seqEnd = 0; this.sendSeq = 0; this.pending = undefined;
  }

  /** Largest total (header-inclusive) size this queue can ever hold. */
  get maxTotal(): number { return Math.min(this.#o.maxMessageSize, 65535, this.B); }

  /** §5.3: reserve; returns the byte offset of the payload, or -1 when full. Type/len checks are the caller's. */
  allocAt(len: number, type: number): number {
    const total = len + HEADER;
    const blocks = roundUp8(total) / 8;
    if (total > Math.min(this.#o.maxMessageSize, 65535) || blocks > this.NB) {
      throw new TcpshmError('ERR_MESSAGE_TOO_LARGE', `message of ${len} payload bytes never fits (max ${this.maxTotal - HEADER})`,
        { details: { length: len, max: this.maxTotal - HEADER } });
    }
    let W = this.W;
    const R = this.R;
    if (W + blocks > this.NB) {
      if (this.NB - (W - R) >= blocks && (this.#o.compaction === 'reference' || W - R <= R)) {
        this.#compact(); W = this.W;
      } else { this.wantDrain = true; this.pending = undefined; return -1; }
    }
    const at = W, off = at * 8;
    const little = this.#o.little;
    this.#dv.setUint16(off, total, little); this.#dv.setUint16(off + 2, type, little); this.#dv.setUint32(off + 4, 0, little);
    this.bytes.fill(0, off + total, off + blocks * 8);
    this.pending = { at, blocks, count: 1 };
    return off + HEADER;
  }

  /** Large-message run (§5.15): k contiguous records committed by one W store. Payload offsets go to `out`;
   *  false when full. Sizes were checked by the caller. */
  allocRun(lens: readonly number[], types: readonly number[], out: number[]): boolean {
    let blocks = 0;
    for (const len of lens) blocks += roundUp8(len + HEADER) / 8;
    if (blocks > this.NB) {
      throw new TcpshmError('ERR_MESSAGE_TOO_LARGE', `large message of ${blocks * 8} framed bytes exceeds tcpQueueSize ${this.B}`);
    }
    let W = this.W;
    const R = this.R;
    if (W + blocks > this.NB) {
      if (this.NB - (W - R) >= blocks && (this.#o.compaction === 'reference' || W - R <= R)) { this.#compact(); W = this.W; }
      else { this.wantDrain = true; this.pending = undefined; return false; }
    }
    const little = this.#o.little;
    let off = W * 8;
    out.length = 0;
    for (let i = 0; i < lens.length; i++) {
      const total = lens[i]! + HEADER, end = off + roundUp8(total);
      this.#dv.setUint16(off, total, little); this.#dv.setUint16(off + 2, types[i]!, little); this.#dv.setUint32(off + 4, 0, little);
      this.bytes.fill(0, off + total, end);
      out.push(off + HEADER);
      off = end;
    }
    this.pending = { at: W, blocks, count: lens.length };
    return true;
  }

  #compact(): void {
    const W = this.W, R0 = this.R, c = W - R0;
    this.bytes.copyWithin(0, R0 * 8, W * 8);
    this.store.written(0, c * 8);
    this.#o.point?.('tcpshm-queue.compact.afterCopy');
    if (this.#durable() && c > 0) this.#sync(0, c * 8);
    this.#st64(0, c, 0);
    this.#o.point?.('tcpshm-queue.compact.afterCommit');
    this.#st(FS, this.S - R0);
    if (this.#durable()) this.syncIndex();
  }

  /** §5.3 push/pushMore commit (without the flush). */
  commit(): void {
    const p = this.pending;
    if (p === undefined) throw new TcpshmError('ERR_TCPSHM_NO_PENDING_ALLOC', 'push() without a pending alloc()');
    const off = p.at * 8;
    const A = this.A, little = this.#o.little;
    for (let i = 0, o = off; i < p.count; i++) {
      this.#dv.setUint32(o + 4, A, little);
      o += roundUp8(this.#dv.getUint16(o, little));
    }
    this.store.written(off, p.blocks * 8);
    const fsync = this.#o.durability === 'fsync-on-push';
    if (fsync) this.#sync(off, p.blocks * 8);
    this.#st(FW, p.at + p.blocks);
    this.queued += p.count; this.seqEnd = u32(this.seqEnd + p.count); this.pending = undefined;
    if (fsync) this.syncIndex();
  }

  /** §5.3 flush steps 3–5: copy of the unsent records (undefined if none); S := W. */
  takeUnsent(): { bytes: Uint8Array; records: number; lastStamp: number } | undefined {
    const S = this.S, W = this.W;
    if (S >= W) return undefined;
    if (this.#durable()) this.#sync(S * 8, this.B + 20 - S * 8);
    let idx = S, records = 0, lastStamp = 0;
    while (idx < W) {
      const size = this.#size(idx);
      if (size < 8) break; // never for our own commits; guards a corrupt file
      lastStamp = this.#stamp(idx);
      idx += roundUp8(size) / 8; records++;
    }
    const bytes = this.bytes.slice(S * 8, idx * 8);
    this.sendSeq = u32(this.sendSeq + records);
    this.#st(FS, idx);
    return { bytes, records, lastStamp };
  }

  /** §5.4 applyAck. Returns an error for out-of-range / corrupt, else undefined. `bound` = sendSeq (link) or seqEnd. */
  applyAck(a: number, bound = this.sendSeq, rewind = false): TcpshmError | undefined {
    const RS = this.RS;
    if (!newer(a, RS)) return undefined;
    if (newer(a, bound)) {
      return new TcpshmError('ERR_TCPSHM_ACK_OUT_OF_RANGE', `Invalid ack ${a >>> 0}: only ${bound} sent (read_seq ${RS})`,
        { reasonText: 'Invalid ack', details: { ack: a >>> 0, readSeq: RS, sent: bound } });
    }
    const d = sd(a, RS);
    let idx = this.R;
    const W = this.W;
    for (let i = 0; i < d; i++) {
      if (idx >= W) return this.#corrupt('ack walk ran past write_idx', idx);
      const size = this.#size(idx);
      if (size < 8) return this.#corrupt(`record size ${size} at block ${idx}`, idx);
      const blocks = roundUp8(size) / 8;
      if (idx + blocks > W) return this.#corrupt('record overruns write_idx', idx);
      idx += blocks;
    }
    const Smem = this.S;
    this.#st64(1, (JOURNAL | idx) >>> 0, u32(RS + d));
    this.#o.point?.('tcpshm-queue.ack.afterJournal');
    this.#st(FR, idx);
    if (!rewind) this.#st(FS, Smem < idx ? idx : Smem);
    this.queued -= d;
    if (idx === W && this.pending === undefined) { this.#st64(0, 0, 0); this.#st(FS, 0); }
    if (this.#durable()) this.syncIndex();
    return undefined;
  }

  /** §5.4 loginAck: apply the peer's login ack (already range-checked) and rewind S to R for the resend. */
  loginAck(a: number): TcpshmError | undefined {
    if (newer(a, this.RS)) {
      const e = this.applyAck(a, this.seqEnd, true);
      if (e) return e;
    }
    this.#st(FS, this.R);
    this.sendSeq = this.RS;
    return undefined;
  }

  /** my_ack += n (pop). */
  addAck(n: number): number { const a = u32(this.A + n); this.#st(FA, a); return a; }
  ackNeedsSync(): boolean { return this.#durable() && this.#syncedAck !== this.A; }

  /** Bytes of committed, unacked records. */
  get queuedBytes(): number { return (this.W - this.R) * 8; }
  get unsentBytes(): number { return Math.max(0, this.W - this.S) * 8; }
}
