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
/** The signalling end of the peer's wake channel (shm-core `WakeHandle.fifoSignaller`). */
export interface PeerWake { signal(): boolean; close(): void }

class RingBase {
  readonly bytes: Uint8Array;
  readonly Q: number;
  readonly N: number;
  protected readonly ix: Uint32Array;
  protected readonly dv: DataView;
  /** Host-order (little-endian) u16 view of the storage: the record header of block p is at [p * 32]. */
  protected readonly u16: Uint16Array;
  readonly ring: string;
  signalled = false;
  /** The peer can park (it said so in the SHM check): check its parked word after publishing. */
  peerCanPark = false;
  #peerWake: PeerWake | undefined;
  /** Installs (or, with undefined, removes) the signaller of the parked peer's channel; closes the previous one. */
  setPeerWake(w: PeerWake | undefined): void {
    if (this.#peerWake !== w) this.#peerWake?.close();
    this.#peerWake = w;
    this.peerCanPark = w !== undefined;
  }
  /** §5.12: the 1 → 2 exchange won; one signal per park. */
  protected wakePeer(): void {
    this.signalled = true;
    if (this.#peerWake !== undefined) this.#peerWake.signal(); else this.hooks.wake?.();
  }
  hooks: RingHooks;
  constructor(bytes: Uint8Array, ring: string, hooks: RingHooks = {}) {
    this.bytes = bytes; this.Q = bytes.byteLength - RING_TRAILER; this.N = this.Q / 64; this.ring = ring; this.hooks = hooks;
    if (this.Q < 128 || this.Q % 64 !== 0 || (this.N & (this.N - 1)) !== 0 || bytes.byteOffset % 8 !== 0) {
      throw new TcpshmError('ERR_INVALID_ARGUMENT', `ring store of ${bytes.byteLength} bytes is not Q + 256 with Q = 64 x 2^k`);
    }
    this.ix = new Uint32Array(bytes.buffer as ArrayBuffer, bytes.byteOffset + this.Q, 64);
    this.dv = new DataView(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
    this.u16 = new Uint16Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, this.Q >>> 1);
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
  close(): void { this.setPeerWake(undefined); this.hooks.close?.(); }
}

export class RingProducer extends RingBase {
  #w: number;
  #rc: number;
  /** Blocks of the pending alloc (0: none); its records end at #w + #pBlocks. */
  #pBlocks = 0;
  /** Largest header-inclusive record (min(maxMessageSize, 65535)); set by the connection. */
  maxTotal = 65535;
  wantDrain = false;
  corrupt: TcpshmError | undefined;
  constructor(bytes: Uint8Array, ring: string, hooks?: RingHooks) {
    super(bytes, ring, hooks);
    Atomics.store(this.ix, PPARK, 0);
    this.#w = this.writeIdx; this.#rc = this.readIdx;
  }
  /** Re-reads the indices (after a zeroing or a relogin). */
  resync(): void { this.#w = this.writeIdx; this.#rc = this.readIdx; this.#pBlocks = 0; }
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
  allocAt(len: number, type: number): number {
    const N = this.N;
    const total = len + HEADER;
    const blocks = (total + 63) >>> 6;
    if (total > this.maxTotal || blocks > N >>> 1) {
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
      if (sd(rc, need) < 0) { this.wantDrain = true; this.#pBlocks = 0; return -1; }
    }
    const u16 = this.u16;
    if (wrap) {
      const h = p << 5;
      u16[h] = 0; u16[h + 1] = 0; u16[h + 2] = 0; u16[h + 3] = 0;
      w = u32(w + tail); this.#w = w;
      Atomics.store(this.ix, W_IDX, w);
      this.hooks.point?.('tcpshm-queue.ring.afterWrapMarker');
      p = 0;
    }
    const h = p << 5;
    u16[h] = total; u16[h + 1] = type; u16[h + 2] = 0; u16[h + 3] = 0;
    this.#pBlocks = blocks;
    return (p << 6) + HEADER;
  }
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
      if (sd(rc, need) < 0) { this.wantDrain = true; this.#pBlocks = 0; return false; }
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
    this.#pBlocks = u32(w - this.#w);
    return true;
  }
  /** Commit; returns the bytes published. */
  push(): number {
    const blocks = this.#pBlocks;
    if (blocks === 0) throw new TcpshmError('ERR_TCPSHM_NO_PENDING_ALLOC', 'push() without a pending alloc()');
    this.hooks.point?.('tcpshm-queue.ring.beforeCommit');
    const w = (this.#w + blocks) >>> 0;
    this.#w = w;
    this.#pBlocks = 0;
    Atomics.store(this.ix, W_IDX, w);
    if (this.peerCanPark && Atomics.load(this.ix, CPARK) === 1 && Atomics.compareExchange(this.ix, CPARK, 1, 2) === 1) this.wakePeer();
    return blocks << 6;
  }
  /** Producer parking word (waiting for space). */
  setParked(v: number): void { Atomics.store(this.ix, PPARK, v); }
  spaceFreed(): boolean { return sd(this.readIdx, this.#rc) > 0; }
  /** An alloc is pending (not yet pushed). */
  get hasPending(): boolean { return this.#pBlocks !== 0; }
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
  /** A front record is decoded and not yet popped. */
  get hasFront(): boolean { return this.#blocks > 0; }
  get parkedWord(): number { return Atomics.load(this.ix, CPARK); }
  setParked(v: number): void { Atomics.store(this.ix, CPARK, v); }
  hasData(): boolean { return this.writeIdx !== this.#r; }
  /** §5.9 front(): payload offset of the oldest record, or -1 (empty, or `corrupt` set). */
  frontAt(): number {
    if (this.#blocks > 0) return this.#frontOff;
    if (this.corrupt) return -1;
    const N = this.N;
    let avail = (Atomics.load(this.ix, W_IDX) - this.#r) >>> 0;
    if (avail === 0) return -1;
    if (avail > N) { this.corrupt = this.corruptError('write_idx - read_idx exceeds the ring', this.#r); return -1; }
    const u16 = this.u16;
    let p = this.#r & (N - 1);
    let size = u16[p << 5]!;
    if (size === 0) {
      const tail = N - p;
      if (p === 0 || avail < tail) { this.corrupt = this.corruptError('invalid wrap marker', this.#r); return -1; }
      this.#r = u32(this.#r + tail);
      Atomics.store(this.ix, R_IDX, this.#r);
      avail -= tail;
      if (avail === 0) return -1;
      p = 0; size = u16[0]!;
    }
    if (size < 8) { this.corrupt = this.corruptError(`record size ${size}`, this.#r); return -1; }
    const blocks = (size + 63) >>> 6;
    if (blocks > avail || p + blocks > N) { this.corrupt = this.corruptError('record overruns write_idx or the ring end', this.#r); return -1; }
    const type = u16[(p << 5) + 1]!;
    if (this.largeMaxSize > 0) { this.frontWhole = undefined; if ((type & 0x8000) !== 0) return this.#frontLarge(p, type); }
    this.#blocks = blocks;
    this.frontType = type;
    this.frontLength = size - HEADER;
    return (this.#frontOff = (p << 6) + HEADER);
  }
  #frontOff = -1;
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
    return (this.#frontOff = parts[0]![0]);
  }
  pop(): void {
    if (this.#blocks === 0 && this.frontAt() < 0) throw new TcpshmError('ERR_TCPSHM_NOTHING_TO_POP', 'pop() with no front message');
    const r = (this.#r + this.#blocks) >>> 0;
    this.#r = r;
    this.#blocks = 0; this.frontType = -1; this.frontLength = 0;
    if (this.frontWhole !== undefined) this.frontWhole = undefined;
    Atomics.store(this.ix, R_IDX, r);
    if (this.peerCanPark && Atomics.load(this.ix, PPARK) === 1 && Atomics.compareExchange(this.ix, PPARK, 1, 2) === 1) this.wakePeer();
  }
}
