// The variable-size SPSC ring of spec §4.10 / §5.9 over a byte store of exactly Q + 256 bytes.
import { TcpshmError } from '../errors.js';
import { blocks64, HEADER, sd, u32 } from './wire.js';

export const RING_TRAILER = 256;
const W_IDX = 0, RC_IDX = 1, PPARK = 16, NONCE_LO = 18, NONCE_HI = 19, R_IDX = 32, CPARK = 48; // u32 slots from Q

export interface RingHooks {
  /** The peer parked and must be signalled (consumer waiting for data / producer waiting for space). */
  wake?: () => void;
  point?: (name: string) => void;
  close?: () => void;
}

class RingBase {
  readonly bytes: Uint8Array;
  readonly Q: number;
  readonly N: number;
  protected readonly ix: Uint32Array;
  protected readonly dv: DataView;
  readonly ring: string;
  signalled = false;
  /** The peer can park (it said so in the SHM check): check its parked word after publishing. */
  peerCanPark = false;
  hooks: RingHooks;
  constructor(bytes: Uint8Array, ring: string, hooks: RingHooks = {}) {
    this.bytes = bytes; this.Q = bytes.byteLength - RING_TRAILER; this.N = this.Q / 64; this.ring = ring; this.hooks = hooks;
    if (this.Q < 128 || this.Q % 64 !== 0 || (this.N & (this.N - 1)) !== 0 || bytes.byteOffset % 8 !== 0) {
      throw new TcpshmError('ERR_INVALID_ARGUMENT', `ring store of ${bytes.byteLength} bytes is not Q + 256 with Q = 64 x 2^k`);
    }
    this.ix = new Uint32Array(bytes.buffer as ArrayBuffer, bytes.byteOffset + this.Q, 64);
    this.dv = new DataView(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }
  get writeIdx(): number { return Atomics.load(this.ix, W_IDX); }
  get readIdx(): number { return Atomics.load(this.ix, R_IDX); }
  pendingBytes(): number { return u32(this.writeIdx - this.readIdx) * 64; }
  protected corruptError(reason: string, index: number): TcpshmError {
    return new TcpshmError('ERR_CORRUPT', `Shm queue corrupt (${this.ring}): ${reason} at index ${index}`,
      { reasonText: 'Shm queue corrupt', details: { ring: this.ring, reason, index } });
  }
  /** §5.9 open step 3: validate without consuming; returns the record count. */
  validate(): number {
    const N = this.N;
    const w = this.writeIdx;
    let r = this.readIdx;
    if (u32(w - r) > N) throw this.corruptError('write_idx - read_idx exceeds the ring', r);
    let count = 0;
    while (r !== w) {
      const avail = u32(w - r);
      let p = r & (N - 1);
      let size = this.dv.getUint16(p * 64, true);
      if (size === 0) {
        const tail = N - p;
        if (p === 0 || avail < tail) throw this.corruptError('wrap marker not covered by write_idx or at block 0', r);
        r = u32(r + tail);
        if (r === w) break;
        p = 0; size = this.dv.getUint16(0, true);
      }
      const av = u32(w - r);
      if (size < 8) throw this.corruptError(`record size ${size}`, r);
      const blocks = blocks64(size);
      if (blocks > av || p + blocks > N) throw this.corruptError('record overruns write_idx or the ring end', r);
      r = u32(r + blocks); count++;
    }
    return count;
  }
  /** §5.9 step 5 (server, on rename): indices and ext words first, then the storage. */
  zero(): void {
    for (const i of [W_IDX, RC_IDX, PPARK, NONCE_LO, NONCE_HI, R_IDX, CPARK]) Atomics.store(this.ix, i, 0);
    this.bytes.fill(0, 0, this.Q);
  }
  setNonce(lo: number, hi: number): void { Atomics.store(this.ix, NONCE_LO, lo >>> 0); Atomics.store(this.ix, NONCE_HI, hi >>> 0); }
  nonce(): [number, number] { return [Atomics.load(this.ix, NONCE_LO), Atomics.load(this.ix, NONCE_HI)]; }
  close(): void { this.hooks.close?.(); }
}

export class RingProducer extends RingBase {
  #w: number;
  #rc: number;
  #pending: { p: number; blocks: number; total: number } | undefined;
  wantDrain = false;
  corrupt: TcpshmError | undefined;
  constructor(bytes: Uint8Array, ring: string, hooks?: RingHooks) {
    super(bytes, ring, hooks);
    Atomics.store(this.ix, PPARK, 0);
    this.#w = this.writeIdx; this.#rc = this.readIdx;
  }
  /** Re-reads the indices (after a zeroing or a relogin). */
  resync(): void { this.#w = this.writeIdx; this.#rc = this.readIdx; this.#pending = undefined; }
  /** Records between read_idx and write_idx (a bounded walk; for stats only). */
  pendingMessages(): number {
    const N = this.N;
    const w = this.writeIdx;
    let r = this.readIdx, n = 0;
    for (let steps = 0; r !== w && steps <= N; steps++) {
      if (u32(w - r) > N) break;
      const p = r & (N - 1);
      const size = this.dv.getUint16(p * 64, true);
      if (size === 0) { r = u32(r + N - p); continue; }
      if (size < 8) break;
      r = u32(r + blocks64(size)); n++;
    }
    return n;
  }
  get parkedWord(): number { return Atomics.load(this.ix, PPARK); }
  /** Producer alloc: payload byte offset, or -1 when full. */
  allocAt(len: number, type: number, maxMessageSize: number): number {
    const N = this.N;
    const total = len + HEADER;
    const blocks = blocks64(total);
    if (total > Math.min(maxMessageSize, 65535) || blocks > N / 2) {
      throw new TcpshmError('ERR_MESSAGE_TOO_LARGE', `message of ${len} payload bytes never fits the ring`, { details: { length: len } });
    }
    let w = this.#w;
    let p = w & (N - 1);
    const tail = N - p;
    const wrap = blocks > tail;
    const need = u32(w + blocks + (wrap ? tail : 0) - N);
    if (sd(this.#rc, need) < 0) {
      const rc = this.readIdx;
      if (u32(w - rc) > N) { this.corrupt = this.corruptError('read_idx ahead of write_idx', rc); throw this.corrupt; }
      this.#rc = rc;
      Atomics.store(this.ix, RC_IDX, rc);
      if (sd(rc, need) < 0) { this.wantDrain = true; this.#pending = undefined; return -1; }
    }
    if (wrap) {
      this.dv.setUint32(p * 64, 0, true); this.dv.setUint32(p * 64 + 4, 0, true);
      w = u32(w + tail); this.#w = w;
      Atomics.store(this.ix, W_IDX, w);
      this.hooks.point?.('tcpshm-queue.ring.afterWrapMarker');
      p = 0;
    }
    const off = p * 64;
    this.dv.setUint16(off, total, true); this.dv.setUint16(off + 2, type, true); this.dv.setUint32(off + 4, 0, true);
    this.#pending = { p, blocks, total };
    this.#runEnd = undefined;
    return off + HEADER;
  }
  #runEnd: number | undefined;
  /** §5.15: k records (and any wrap markers) written now, published by one write_idx store in push(). */
  allocRun(lens: readonly number[], types: readonly number[], out: number[]): boolean {
    const N = this.N;
    let w = this.#w, total = 0;
    for (const len of lens) {
      const b = blocks64(len + HEADER), p = w & (N - 1);
      if (b > N - p) { total += N - p; w = u32(w + N - p); }
      total += b; w = u32(w + b);
    }
    if (total > N / 2) throw new TcpshmError('ERR_MESSAGE_TOO_LARGE', `large message needs ${total} ring blocks, more than N/2 = ${N / 2} (raise shmQueueSize)`);
    const need = u32(w - N);
    if (sd(this.#rc, need) < 0) {
      const rc = this.readIdx;
      if (u32(this.#w - rc) > N) { this.corrupt = this.corruptError('read_idx ahead of write_idx', rc); throw this.corrupt; }
      this.#rc = rc; Atomics.store(this.ix, RC_IDX, rc);
      if (sd(rc, need) < 0) { this.wantDrain = true; this.#pending = undefined; this.#runEnd = undefined; return false; }
    }
    out.length = 0;
    w = this.#w;
    for (let i = 0; i < lens.length; i++) {
      const totalLen = lens[i]! + HEADER, b = blocks64(totalLen);
      let p = w & (N - 1);
      if (b > N - p) { this.dv.setUint32(p * 64, 0, true); this.dv.setUint32(p * 64 + 4, 0, true); w = u32(w + N - p); p = 0; }
      this.dv.setUint16(p * 64, totalLen, true); this.dv.setUint16(p * 64 + 2, types[i]!, true); this.dv.setUint32(p * 64 + 4, 0, true);
      out.push(p * 64 + HEADER);
      w = u32(w + b);
    }
    this.#runEnd = w;
    this.#pending = { p: 0, blocks: u32(w - this.#w), total: 0 };
    return true;
  }
  /** Commit; returns the bytes published. */
  push(): number {
    const pd = this.#pending;
    if (!pd) throw new TcpshmError('ERR_TCPSHM_NO_PENDING_ALLOC', 'push() without a pending alloc()');
    this.hooks.point?.('tcpshm-queue.ring.beforeCommit');
    this.#runEnd = undefined;
    this.#w = u32(this.#w + pd.blocks);
    Atomics.store(this.ix, W_IDX, this.#w);
    this.#pending = undefined;
    if (this.peerCanPark && Atomics.load(this.ix, CPARK) === 1 && Atomics.compareExchange(this.ix, CPARK, 1, 2) === 1) {
      this.signalled = true; this.hooks.wake?.();
    }
    return pd.blocks * 64;
  }
  /** Producer parking word (waiting for space). */
  setParked(v: number): void { Atomics.store(this.ix, PPARK, v); }
  spaceFreed(): boolean { return sd(this.readIdx, this.#rc) > 0; }
}

export class RingConsumer extends RingBase {
  #r: number;
  #blocks = 0;
  frontType = -1;
  frontLength = 0;
  corrupt: TcpshmError | undefined;
  constructor(bytes: Uint8Array, ring: string, hooks?: RingHooks) {
    super(bytes, ring, hooks);
    Atomics.store(this.ix, CPARK, 0);
    this.#r = this.readIdx;
  }
  resync(): void { this.#r = this.readIdx; this.#blocks = 0; }
  get parkedWord(): number { return Atomics.load(this.ix, CPARK); }
  setParked(v: number): void { Atomics.store(this.ix, CPARK, v); }
  hasData(): boolean { return this.writeIdx !== this.#r; }
  /** §5.9 front(): payload offset of the oldest record, or -1 (empty, or `corrupt` set). */
  frontAt(): number {
    if (this.corrupt) return -1;
    if (this.#blocks > 0) return (this.#r & (this.N - 1)) * 64 + HEADER;
    const N = this.N;
    const wv = this.writeIdx;
    let avail = u32(wv - this.#r);
    if (avail === 0) return -1;
    if (avail > N) { this.corrupt = this.corruptError('write_idx - read_idx exceeds the ring', this.#r); return -1; }
    let p = this.#r & (N - 1);
    let size = this.dv.getUint16(p * 64, true);
    if (size === 0) {
      const tail = N - p;
      if (p === 0 || avail < tail) { this.corrupt = this.corruptError('invalid wrap marker', this.#r); return -1; }
      this.#r = u32(this.#r + tail);
      Atomics.store(this.ix, R_IDX, this.#r);
      avail -= tail;
      if (avail === 0) return -1;
      p = 0; size = this.dv.getUint16(0, true);
    }
    if (size < 8) { this.corrupt = this.corruptError(`record size ${size}`, this.#r); return -1; }
    const blocks = blocks64(size);
    if (blocks > avail || p + blocks > N) { this.corrupt = this.corruptError('record overruns write_idx or the ring end', this.#r); return -1; }
    const type = this.dv.getUint16(p * 64 + 2, true);
    this.frontWhole = undefined;
    if (this.largeMaxSize > 0 && (type & 0x8000) !== 0) return this.#frontLarge(p, type);
    this.#blocks = blocks;
    this.frontType = type;
    this.frontLength = size - HEADER;
    return p * 64 + HEADER;
  }
  /** > 0 when large messages are on: the largest reassembled payload. */
  largeMaxSize = 0;
  /** The reassembled payload of a large front message. */
  frontWhole: Uint8Array | undefined;
  #frontLarge(p0: number, type: number): number {
    const N = this.N, base = type & 0x7fff;
    const w = this.writeIdx;
    let r = this.#r, total = 0, count = 0;
    const parts: Array<[number, number]> = [];
    for (;;) {
      const avail = u32(w - r);
      if (avail === 0) return -1; // not all fragments published (never for a shmkit producer)
      let p = r & (N - 1);
      let size = this.dv.getUint16(p * 64, true);
      if (size === 0) {
        if (p === 0 || avail < N - p) { this.corrupt = this.corruptError('invalid wrap marker', r); return -1; }
        r = u32(r + N - p); continue;
      }
      const t = this.dv.getUint16(p * 64 + 2, true);
      const b = blocks64(size);
      if (size < 8 || b > avail || p + b > N) { this.corrupt = this.corruptError('record overruns write_idx or the ring end', r); return -1; }
      if ((t & 0x7fff) !== base) { this.corrupt = new TcpshmError('ERR_TCPSHM_BAD_FRAME', `fragment of type ${t & 0x7fff} inside a message of type ${base}`); return -1; }
      total += size - HEADER; count++;
      if (total > this.largeMaxSize) { this.corrupt = new TcpshmError('ERR_TCPSHM_FRAME_TOO_LARGE', `large message exceeds largeMessages.maxSize ${this.largeMaxSize}`); return -1; }
      parts.push([p * 64 + HEADER, size - HEADER]);
      r = u32(r + b);
      if ((t & 0x8000) === 0) break;
      void p0; size = 0;
    }
    const whole = new Uint8Array(total);
    let at = 0;
    for (const [off, n] of parts) { whole.set(this.bytes.subarray(off, off + n), at); at += n; }
    this.frontWhole = whole;
    this.frontType = base; this.frontLength = total;
    this.#blocks = u32(r - this.#r);
    return parts[0]![0];
  }
  pop(): void {
    if (this.#blocks === 0 && this.frontAt() < 0) throw new TcpshmError('ERR_TCPSHM_NOTHING_TO_POP', 'pop() with no front message');
    this.#r = u32(this.#r + this.#blocks);
    this.#blocks = 0; this.frontType = -1; this.frontLength = 0; this.frontWhole = undefined;
    Atomics.store(this.ix, R_IDX, this.#r);
    if (this.peerCanPark && Atomics.load(this.ix, PPARK) === 1 && Atomics.compareExchange(this.ix, PPARK, 1, 2) === 1) {
      this.signalled = true; this.hooks.wake?.();
    }
  }
}
