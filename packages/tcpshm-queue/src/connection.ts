// One persistent connection (spec §3.3): the send queue, the receive path, and the current link.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TcpshmError } from './errors.js';
import { FRAG_PAYLOAD, type Resolved } from './options.js';
import { PtcpQueue } from './internal/ptcp-queue.js';
import type { FileStore } from './internal/storage.js';
import { encodeHeartbeat, HEADER, MSG_CHECK_REQ, MSG_CHECK_RSP, newer, roundUp8, u32 } from './internal/wire.js';
import { newCounters, type ConnectionStats } from './internal/metrics.js';
import type { RingConsumer, RingProducer } from './internal/shm-ring.js';

export type { ConnectionStats } from './internal/metrics.js';

export interface Message {
  readonly type: number;
  readonly length: number;
  readonly payload: Uint8Array;
  readonly seq: number | undefined;
  readonly connection: TcpshmConnection;
  copy(): Uint8Array;
}
export type MessageHandler = (msg: Message, conn: TcpshmConnection) => void;

export interface TcpshmConnectionEvents {
  open: [];
  disconnect: [reason: TcpshmError];
  drain: [];
  close: [];
}

/** What a connection needs from its client or server. */
export interface ConnectionOwner {
  handler(): MessageHandler | undefined;
  linkEnded(conn: TcpshmConnection, reason: TcpshmError, byApp: boolean): void;
  error(err: TcpshmError): void;
  /** SHM mode: a frame of the TCP channel that is not a heartbeat (the SHM check). */
  controlFrame?(conn: TcpshmConnection, type: number, frame: Uint8Array): void;
  /** SHM mode: new data may be in the receive ring / a held message was released / the send ring is full. */
  kick?(conn: TcpshmConnection): void;
  /** SHM mode: a full send ring of this link is waited for by parking on its `.space` channel. */
  canParkForSpace?(conn: TcpshmConnection): boolean;
}

class Msg implements Message {
  readonly type: number; readonly length: number; readonly payload: Uint8Array; readonly seq: number | undefined;
  readonly connection: TcpshmConnection;
  /** Records this message occupies (k for a reassembled large message). */
  records = 1;
  constructor(c: TcpshmConnection, type: number, payload: Uint8Array, seq: number | undefined) {
    this.connection = c; this.type = type; this.payload = payload; this.length = payload.length; this.seq = seq;
  }
  copy(): Uint8Array { return this.payload.slice(); }
}

const EMPTY = new Uint8Array(0);
const REMOTE_CLOSE = () => new TcpshmError('ERR_TCPSHM_REMOTE_CLOSE', 'the peer closed the connection', { reasonText: 'Remote close' });

export class TcpshmConnection extends EventEmitter<TcpshmConnectionEvents> {
  readonly localName: string;
  readonly remoteName: string;
  readonly role: 'client' | 'server';
  readonly mode: 'tcp' | 'shm';
  group: number;
  closeReason: TcpshmError | undefined;
  readonly ptcpDir: string;
  remoteAddress: string | undefined;
  peerKind: 'shmkit' | 'reference' | 'unknown' = 'unknown';
  effectiveWaitMode: 'event' | 'spin' | 'hybrid' | 'block';
  userData: unknown;
  /** Offline since (performance.now()), for slot eviction. */
  offlineSince = 0;

  readonly #o: Resolved;
  readonly #owner: ConnectionOwner;
  #closed = false;
  // TCP-mode send queue.
  #store: FileStore | undefined;
  readonly queue: PtcpQueue | undefined;
  // SHM-mode rings.
  readonly producer: RingProducer | undefined;
  readonly consumer: RingConsumer | undefined;
  #socket: Socket | undefined;
  #little: boolean;
  // Receive state (§5.5).
  #buf: Buffer = Buffer.alloc(0);
  #rd = 0; #parse = 0; #wr = 0; #ackApplied = -1;
  #frames: number[] = []; #fh = 0;
  #front: Msg | undefined;
  #held = false;
  #carried: Msg | undefined;
  #dropNext = 0;
  #recvPaused = false;
  #delivering = false;
  #deliverScheduled = false;
  /** Inside one incoming chunk: flush() only marks, the chunk's end writes everything in one copy and one write. */
  #batching = false;
  #flushPending = false;
  #waitingSocketDrain = false;
  // Timers.
  lastSendAt = 0;
  lastRecvAt = 0;
  #ackAdvertised = 0;
  #ackTimer: NodeJS.Timeout | undefined;
  // Iterator.
  #iterWaiter: ((m: Message | undefined) => void) | undefined;
  #iterActive = false;
  #drainWaiters = new Set<() => void>();
  readonly counters = newCounters();
  #point: ((p: string) => void) | undefined;

  /** @internal */
  constructor(args: {
    options: Resolved; owner: ConnectionOwner; role: 'client' | 'server'; mode: 'tcp' | 'shm';
    remoteName: string; group: number; store?: FileStore; producer?: RingProducer; consumer?: RingConsumer;
    point?: (p: string) => void;
  }) {
    super();
    this.#o = args.options; this.#owner = args.owner; this.role = args.role; this.mode = args.mode;
    this.localName = args.options.name; this.remoteName = args.remoteName; this.group = args.group;
    this.ptcpDir = args.options.ptcpDir; this.#little = args.options.byteOrder === 'little';
    this.effectiveWaitMode = args.mode === 'tcp' ? 'event' : 'spin';
    this.#store = args.store;
    if (args.store) {
      this.queue = new PtcpQueue(args.store, { little: this.#little, compaction: args.options.compaction,
        durability: args.options.durability, maxMessageSize: args.options.maxMessageSize, path: args.store.path, point: args.point });
    }
    this.producer = args.producer; this.consumer = args.consumer; this.#point = args.point;
    if (this.consumer && args.options.largeMessages !== false) this.consumer.largeMaxSize = args.options.largeMessages.maxSize;
    if (this.producer) this.producer.maxTotal = Math.min(args.options.maxMessageSize, 65535);
    this.#maxType = args.options.largeMessages !== false ? 0x7fff : 65535;
    this.#sendBuf = this.queue ? this.queue.bytes : this.producer!.bytes;
    if (this.consumer) { const b = this.consumer.bytes; this.#ringAb = b.buffer as ArrayBuffer; this.#ringBase = b.byteOffset; }
    this.#buf = Buffer.allocUnsafe(args.options.tcpRecvBufInitSize);
  }
  /** Hoisted per connection: the send memory, the largest application type, the receive ring's buffer. */
  readonly #sendBuf: Uint8Array;
  readonly #maxType: number;
  #ringAb: ArrayBuffer | undefined;
  #ringBase = 0;

  get isOpen(): boolean { return this.#socket !== undefined; }
  get isClosed(): boolean { return this.#closed; }
  get ptcpFile(): string | undefined { return this.#store?.path; }
  /** @internal */
  get socket(): Socket | undefined { return this.#socket; }

  #assertOpen(): void {
    if (this.#closed) throw new TcpshmError('ERR_CLOSED', `connection ${this.localName}→${this.remoteName} is closed`, { reasonText: 'Release' });
  }

  // ---------------------------------------------------------------- sending
  get sendBuffer(): Uint8Array {
    if (this.#closed) this.#assertOpen();
    return this.#sendBuf;
  }

  #checkType(type: number, len: number): void {
    if (!Number.isInteger(len) || len < 0) throw new TcpshmError('ERR_INVALID_ARGUMENT', `payload length ${len} must be an integer >= 0`);
    if (!Number.isInteger(type) || type < 0 || type > 65535) throw new TcpshmError('ERR_INVALID_ARGUMENT', `msg_type ${type} must be an integer in 1..65535`);
    if (type === 0 || (this.#o.largeMessages !== false && type >= 0x8000)) {
      throw new TcpshmError('ERR_TCPSHM_RESERVED_MSG_TYPE', `msg_type ${type} is reserved`, { details: { type } });
    }
  }

  allocAt(payloadLength: number, msgType: number): number {
    if (this.#closed) this.#assertOpen();
    // Fast path: integer length >= 0 and type in 1..maxType; anything else goes through the precise checks.
    if ((payloadLength >>> 0) !== payloadLength || (msgType >>> 0) !== msgType || msgType === 0 || msgType > this.#maxType) this.#checkType(msgType, payloadLength);
    const p = this.producer;
    if (p !== undefined) {
      const off = p.allocAt(payloadLength, msgType);
      if (off < 0) this.#owner.kick?.(this); // the driver watches for space (parks on `.space` where it can)
      return off;
    }
    return this.queue!.allocAt(payloadLength, msgType);
  }
  alloc(payloadLength: number, msgType: number): Uint8Array | undefined {
    const off = this.allocAt(payloadLength, msgType);
    if (off < 0) return undefined;
    return this.sendBuffer.subarray(off, off + payloadLength);
  }
  pushMore(): void {
    if (this.#closed) this.#assertOpen();
    const pr = this.producer;
    const counters = this.counters;
    if (pr !== undefined) {
      counters.bytesSent += pr.push();
      counters.messagesSent++;
      if (pr.signalled) { counters.wakeupsSent++; pr.signalled = false; }
      return;
    }
    const q = this.queue!;
    const p = q.pending;
    q.commit();
    counters.messagesSent++;
    if (p) counters.bytesSent += p.blocks * 8;
  }
  push(): void { this.pushMore(); if (this.queue !== undefined) this.flush(); }
  send(msgType: number, payload: Uint8Array): boolean {
    if (this.#o.largeMessages !== false && payload.length + HEADER > this.#o.maxMessageSize) return this.#sendLarge(msgType, payload);
    const off = this.allocAt(payload.length, msgType);
    if (off < 0) return false;
    this.sendBuffer.set(payload, off);
    this.push();
    return true;
  }
  #runLens: number[] = []; #runTypes: number[] = []; #runOffs: number[] = [];
  /** §5.15: k fragments committed together (one index store). */
  #sendLarge(type: number, payload: Uint8Array): boolean {
    this.#assertOpen();
    this.#checkType(type, payload.length);
    const lm = this.#o.largeMessages as { maxSize: number };
    if (payload.length > lm.maxSize) {
      throw new TcpshmError('ERR_MESSAGE_TOO_LARGE', `payload of ${payload.length} bytes exceeds largeMessages.maxSize ${lm.maxSize}`, { details: { length: payload.length } });
    }
    const k = Math.ceil(payload.length / FRAG_PAYLOAD);
    const lens = this.#runLens, types = this.#runTypes, offs = this.#runOffs;
    lens.length = 0; types.length = 0;
    for (let i = 0; i < k; i++) {
      lens.push(i < k - 1 ? FRAG_PAYLOAD : payload.length - (k - 1) * FRAG_PAYLOAD);
      types.push(i < k - 1 ? (type | 0x8000) : type);
    }
    const ok = this.queue ? this.queue.allocRun(lens, types, offs) : this.producer!.allocRun(lens, types, offs);
    if (!ok) return false;
    const buf = this.sendBuffer;
    for (let i = 0; i < k; i++) buf.set(payload.subarray(i * FRAG_PAYLOAD, i * FRAG_PAYLOAD + lens[i]!), offs[i]!);
    if (this.queue) { this.queue.commit(); this.counters.messagesSent++; this.counters.bytesSent += payload.length; this.flush(); }
    else { this.counters.bytesSent += this.producer!.push(); this.counters.messagesSent++; }
    return true;
  }

  async sendAsync(msgType: number, payload: Uint8Array, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const end = opts.timeoutMs === undefined ? Infinity : performance.now() + opts.timeoutMs;
    for (;;) {
      if (opts.signal?.aborted) throw new TcpshmError('ERR_ABORTED', 'sendAsync aborted', { cause: opts.signal.reason });
      if (this.send(msgType, payload)) return;
      const left = end - performance.now();
      if (left <= 0) throw new TcpshmError('ERR_TIMEOUT', 'sendAsync: no space in time');
      await new Promise<void>((resolve) => {
        let t: NodeJS.Timeout | undefined;
        const done = () => { this.#drainWaiters.delete(done); this.off('close', done); opts.signal?.removeEventListener('abort', done); if (t) clearTimeout(t); resolve(); };
        this.#drainWaiters.add(done);
        this.once('close', done);
        opts.signal?.addEventListener('abort', done, { once: true });
        // SHM: the driver parks on the `.space` channel where the peer signals it (§5.12); a reference consumer,
        // spin mode or the manual driver never wakes us: poll at most every 1 ms there.
        const poll = this.mode === 'shm' && this.#owner.canParkForSpace?.(this) !== true ? 1 : Math.min(left, 1000);
        t = setTimeout(done, Math.min(left, poll));
      });
    }
  }
  /** @internal space was freed. */
  notifyDrain(): void {
    const q = this.queue ?? this.producer!;
    if (q.wantDrain) { q.wantDrain = false; queueMicrotask(() => { if (!this.#closed) this.emit('drain'); }); }
    for (const w of [...this.#drainWaiters]) w();
  }

  flush(): void {
    if (this.#closed) return;
    const q = this.queue;
    const sock = this.#socket;
    if (!q || !sock) return;
    if (q.S === q.W) return;
    // §5.3 step 6: frames pushed while one incoming chunk is processed go out together at its end.
    if (this.#batching) { this.#flushPending = true; return; }
    if (sock.writableLength > this.#o.sendHighWaterMark) {
      if (!this.#waitingSocketDrain) {
        this.#waitingSocketDrain = true;
        sock.once('drain', () => { this.#waitingSocketDrain = false; this.flush(); });
      }
      return;
    }
    const u = q.takeUnsent();
    if (!u) return;
    sock.write(u.bytes);
    this.lastSendAt = performance.now();
    if (newer(u.lastStamp, this.#ackAdvertised) || u.lastStamp === this.queue!.A) this.#ackAdvertised = u.lastStamp;
  }

  // ---------------------------------------------------------------- link
  /** @internal Opens a link on an authenticated socket. `peerAck` is the peer's login ack (TCP). */
  attach(socket: Socket, leftover: Uint8Array, peerAck: number): TcpshmError | undefined {
    this.#assertOpen();
    const now = performance.now();
    let freed = false;
    if (this.queue) {
      const before = this.queue.RS;
      const e = this.queue.loginAck(peerAck);
      if (e) return e;
      freed = this.queue.RS !== before;
      this.counters.resentMessages += this.queue.queued;
    }
    // Receive reset (§5.5): a held message is carried across the relogin.
    if (this.mode === 'tcp') {
      if (this.#front && !this.#carried) this.#carried = this.#front;
      this.#dropNext = this.#carried ? (this.#carried as Msg).records : 0;
      if (!this.#carried) { this.#front = undefined; this.#held = false; }
      this.#buf = Buffer.allocUnsafe(this.#o.tcpRecvBufInitSize);
    }
    this.#rd = this.#parse = this.#wr = 0; this.#ackApplied = -1;
    this.#frames = []; this.#fh = 0; this.#recvPaused = false; this.#fragBase = -1;
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress;
    this.lastSendAt = this.lastRecvAt = now;
    this.#ackAdvertised = this.queue ? this.queue.A : 0;
    this.counters.logins++;
    this.offlineSince = 0;
    if (this.mode === 'shm') {
      this.peerKind = 'unknown'; this.effectiveWaitMode = 'spin';
      // A new link: the SHM check decides again whether the peer parks.
      this.producer!.setPeerWake(undefined); this.consumer!.setPeerWake(undefined);
    }
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    socket.resume();
    if (this.queue) this.flush();
    this.emit('open');
    // The login ack may free the space an alloc was waiting for (e.g. a handler holding until 'drain').
    if (freed) this.notifyDrain();
    if (leftover.length > 0) this.#onData(Buffer.from(leftover));
    if (this.mode === 'tcp') this.#scheduleDeliver();
    return undefined;
  }

  #onData = (chunk: Buffer): void => {
    const sock = this.#socket;
    if (!sock) return;
    this.lastRecvAt = performance.now();
    this.counters.bytesReceived += chunk.length;
    const outer = !this.#batching;
    this.#batching = true;
    try { this.#ingest(chunk); } finally {
      if (outer) {
        this.#batching = false;
        if (this.#flushPending) { this.#flushPending = false; if (this.#socket === sock) this.flush(); }
      }
    }
  };
  #onEnd = (): void => { this.endLink(REMOTE_CLOSE()); };
  #onError = (e: Error): void => {
    this.endLink(new TcpshmError('ERR_TCPSHM_SOCKET', `socket error: ${e.message}`, { reasonText: 'Read error', cause: e,
      errno: typeof (e as NodeJS.ErrnoException).errno === 'number' ? -(e as NodeJS.ErrnoException).errno! : undefined }));
  };
  #onClose = (): void => { this.endLink(REMOTE_CLOSE()); };

  #ingest(chunk: Buffer): void {
    const o = this.#o;
    if (this.#wr + chunk.length > this.#buf.length) {
      const live = this.#wr - this.#rd;
      const nb = Buffer.allocUnsafe(Math.max(2 * (live + chunk.length), o.tcpRecvBufInitSize));
      this.#buf.copy(nb, 0, this.#rd, this.#wr);
      const shift = this.#rd;
      for (let i = this.#fh; i < this.#frames.length; i++) this.#frames[i]! -= shift;
      this.#parse -= shift; this.#wr -= shift; if (this.#ackApplied >= 0) this.#ackApplied -= shift; this.#rd = 0;
      // Views of a held message keep the old buffer alive.
      this.#buf = nb;
    }
    chunk.copy(this.#buf, this.#wr);
    this.#wr += chunk.length;
    const buf = this.#buf;
    const little = this.#little;
    while (this.#wr - this.#parse >= 8) {
      const p = this.#parse;
      const size = little ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
      const type = little ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2);
      if (size < 8) {
        this.#fail(new TcpshmError('ERR_TCPSHM_BAD_FRAME', `Invalid msg size ${size}`, { reasonText: 'Invalid msg size', details: { size } }));
        return;
      }
      const padded = roundUp8(size);
      if (padded > o.tcpRecvBufMaxSize) {
        this.#fail(new TcpshmError('ERR_TCPSHM_FRAME_TOO_LARGE', `frame of ${size} bytes exceeds tcpRecvBufMaxSize ${o.tcpRecvBufMaxSize}`,
          { reasonText: 'Msg size larger than recv buf max size', details: { size, max: o.tcpRecvBufMaxSize } }));
        return;
      }
      if (this.queue && this.#ackApplied !== p) {
        this.#ackApplied = p;
        const ack = little ? buf.readUInt32LE(p + 4) : buf.readUInt32BE(p + 4);
        const before = this.queue.RS;
        const e = this.queue.applyAck(ack);
        if (e) {
          if (e.code === ('ERR_TCPSHM_PTCP_CORRUPT' as string)) this.#owner.error(e);
          this.#fail(e); return;
        }
        if (this.queue.RS !== before) this.notifyDrain();
      }
      if (this.#wr - p < padded) break;
      this.#parse = p + padded;
      if (type === 0 && size === 8) { this.counters.heartbeatsReceived++; continue; }
      if (this.mode === 'shm') {
        if (type === MSG_CHECK_REQ || type === MSG_CHECK_RSP) this.#owner.controlFrame?.(this, type, buf.subarray(p, p + size));
        else this.counters.ignoredFrames++;
        if (this.#socket === undefined) return;
        continue;
      }
      if (this.#dropNext > 0) { this.#dropNext--; continue; }
      if (type === 0) this.counters.typeZeroMessages++;
      if (o.largeMessages !== false) {
        const e = this.#checkFragment(type, size - HEADER, o.largeMessages.maxSize);
        if (e) { this.#fail(e); return; }
      }
      this.#frames.push(p);
      this.counters.messagesReceived++;
    }
    this.#rd = this.#fh < this.#frames.length ? this.#frames[this.#fh]! : this.#parse;
    if (this.#wr - this.#rd >= o.tcpRecvBufMaxSize && !this.#recvPaused) { this.#recvPaused = true; this.#socket?.pause(); }
    this.deliver();
  }

  #fragBase = -1; #fragCount = 0; #fragBytes = 0;
  /** §5.15 step 4: validates a run of fragments as its records arrive. */
  #checkFragment(type: number, len: number, maxSize: number): TcpshmError | undefined {
    const more = (type & 0x8000) !== 0, base = type & 0x7fff;
    if (this.#fragBase < 0 && !more) return undefined;
    if (this.#fragBase >= 0 && base !== this.#fragBase) {
      return new TcpshmError('ERR_TCPSHM_BAD_FRAME', `fragment of type ${base} inside a message of type ${this.#fragBase}`, { reasonText: 'Invalid msg size' });
    }
    if (this.#fragBase < 0) { this.#fragBase = base; this.#fragCount = 0; this.#fragBytes = 0; }
    this.#fragCount++; this.#fragBytes += len;
    if (this.#fragBytes > maxSize || this.#fragCount > Math.ceil(maxSize / FRAG_PAYLOAD)) {
      return new TcpshmError('ERR_TCPSHM_FRAME_TOO_LARGE', `large message exceeds largeMessages.maxSize ${maxSize}`, { reasonText: 'Msg size larger than recv buf max size' });
    }
    if (!more) this.#fragBase = -1;
    return undefined;
  }

  /** A protocol violation: deliver the valid prefix already parsed, then end the link. */
  #fail(e: TcpshmError): void {
    const sock = this.#socket;
    this.deliver();
    if (this.#socket === sock) this.endLink(e);
  }

  /** Ends the current link (no-op without one). */
  endLink(reason: TcpshmError, byApp = false, silent = false, graceful = false): void {
    const sock = this.#socket;
    if (!sock) return;
    this.#socket = undefined;
    sock.off('data', this.#onData); sock.off('end', this.#onEnd); sock.off('error', this.#onError); sock.off('close', this.#onClose);
    sock.on('error', () => {});
    if (graceful) {
      // Let the last frame written (e.g. a CHECK_RSP with its result) reach the peer before the FIN.
      sock.resume(); sock.end();
      setTimeout(() => sock.destroy(), 1000).unref();
    } else sock.destroy();
    if (this.#ackTimer) { clearTimeout(this.#ackTimer); this.#ackTimer = undefined; }
    this.closeReason = reason;
    this.counters.disconnects++;
    this.offlineSince = performance.now();
    // Buffered, undelivered frames are dropped: the peer resends them (never acked).
    if (this.mode === 'tcp') {
      if (this.#front && !this.#carried) this.#carried = this.#front; // its bytes stay valid in this buffer
      this.#frames = []; this.#fh = 0; this.#rd = this.#parse = this.#wr = 0;
    } else this.#front = undefined;
    if (silent) return;
    this.emit('disconnect', reason);
    this.#owner.linkEnded(this, reason, byApp);
  }

  /** End the current link ("Request close"); the object stays usable. */
  close(): void {
    this.#assertOpen();
    this.endLink(new TcpshmError('ERR_TCPSHM_CLOSED_BY_APP', 'link closed by the application', { reasonText: 'Request close' }), true);
  }

  /** @internal heartbeat and timeout tick (§5.6). */
  tick(now: number, stalled = false): void {
    const sock = this.#socket;
    if (!sock) return;
    if (now - this.lastSendAt >= this.#o.heartbeatIntervalMs) {
      if (this.queue && this.queue.S !== this.queue.W) this.flush();
      if (now - this.lastSendAt >= this.#o.heartbeatIntervalMs) this.#heartbeat(now);
    }
    // After a long synchronous stall of this process, pending socket input has not been read yet: skip one check.
    if (!stalled && !this.#recvPaused && now - this.lastRecvAt > this.#o.connectionTimeoutMs) {
      this.endLink(new TcpshmError('ERR_PEER_TIMEOUT', `nothing received for ${this.#o.connectionTimeoutMs} ms`, { reasonText: 'Timeout' }));
    }
  }
  #heartbeat(now: number): void {
    const sock = this.#socket;
    if (!sock) return;
    const q = this.queue;
    if (q?.ackNeedsSync()) q.syncIndex();
    const a = q ? q.A : 0;
    sock.write(encodeHeartbeat(a, this.#little));
    this.lastSendAt = now; this.#ackAdvertised = a;
    this.counters.heartbeatsSent++;
  }
  /** @internal raw control frame on the TCP channel (SHM check). */
  writeControl(frame: Uint8Array): void { this.#socket?.write(frame); this.lastSendAt = performance.now(); }

  // ---------------------------------------------------------------- receiving
  get recvBuffer(): Uint8Array {
    this.#assertOpen();
    return this.consumer ? this.consumer.bytes : this.#buf;
  }

  front(): Message | undefined {
    this.#assertOpen();
    if (this.#front) return this.#front;
    if (this.consumer) {
      const c = this.consumer;
      const off = c.frontAt();
      if (off < 0) {
        if (c.corrupt) this.#ringCorrupt();
        return undefined;
      }
      this.#front = new Msg(this, c.frontType, c.frontWhole ?? new Uint8Array(this.#ringAb!, this.#ringBase + off, c.frontLength), undefined);
      return this.#front;
    }
    if (this.#carried) { this.#front = this.#carried; return this.#front; }
    if (this.#fh >= this.#frames.length) return undefined;
    const p = this.#frames[this.#fh]!;
    const b = this.#buf;
    const rd16 = (o: number) => (this.#little ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const size = rd16(p), type = rd16(p + 2);
    if (this.#o.largeMessages !== false && (type & 0x8000) !== 0) {
      let j = this.#fh, total = 0;
      for (; j < this.#frames.length; j++) { const q = this.#frames[j]!; total += rd16(q) - HEADER; if ((rd16(q + 2) & 0x8000) === 0) break; }
      if (j >= this.#frames.length) return undefined; // the terminating record has not arrived yet
      const whole = new Uint8Array(total);
      let at = 0;
      for (let i = this.#fh; i <= j; i++) { const q = this.#frames[i]!, n = rd16(q) - HEADER; whole.set(b.subarray(q + HEADER, q + HEADER + n), at); at += n; }
      const m = new Msg(this, type & 0x7fff, whole, this.queue!.A);
      m.records = j - this.#fh + 1;
      this.#front = m;
      return m;
    }
    this.#front = new Msg(this, type, new Uint8Array(b.buffer, b.byteOffset + p + HEADER, size - HEADER), this.queue!.A);
    return this.#front;
  }
  #ringCorrupt(): void {
    const e = this.consumer!.corrupt!;
    this.#owner.error(e);
    this.endLink(e);
  }
  /** Allocation-free access to the front (SHM: straight from the ring; TCP: from the receive buffer). */
  peekType(): number {
    const cs = this.consumer;
    if (cs !== undefined && this.#front === undefined) { if (this.#closed) this.#assertOpen(); return cs.frontAt() < 0 ? -1 : cs.frontType; }
    const m = this.front(); return m ? m.type : -1;
  }
  peekOffset(): number {
    const cs = this.consumer;
    if (cs !== undefined && this.#front === undefined) {
      if (this.#closed) this.#assertOpen();
      return cs.frontAt();
    }
    const m = this.front(); if (!m) return -1;
    return m.payload.byteOffset - this.recvBuffer.byteOffset;
  }
  peekLength(): number {
    const cs = this.consumer;
    if (cs !== undefined && this.#front === undefined) { if (this.#closed) this.#assertOpen(); return cs.frontAt() < 0 ? -1 : cs.frontLength; }
    const m = this.front(); return m ? m.length : -1;
  }

  pop(): void {
    if (this.#closed) this.#assertOpen();
    const cs = this.consumer;
    if (cs !== undefined) {
      if (!cs.hasFront && cs.frontAt() < 0) {
        if (cs.corrupt) this.#ringCorrupt();
        throw new TcpshmError('ERR_TCPSHM_NOTHING_TO_POP', 'pop() with no front message');
      }
      this.#front = undefined;
      this.#held = false;
      cs.pop();
      if (cs.signalled) { this.counters.wakeupsSent++; cs.signalled = false; }
      if (!this.#delivering) this.#owner.kick?.(this);
      return;
    }
    const m = this.front();
    if (!m) throw new TcpshmError('ERR_TCPSHM_NOTHING_TO_POP', 'pop() with no front message');
    this.#front = undefined;
    this.#held = false;
    const k = (m as Msg).records;
    if (m === this.#carried) this.#carried = undefined;
    else { this.#fh += k; this.#rd = this.#fh < this.#frames.length ? this.#frames[this.#fh]! : this.#parse; if (this.#fh >= this.#frames.length) { this.#frames = []; this.#fh = 0; } }
    this.queue!.addAck(k);
    this.#point?.('tcpshm-queue.pop.beforeAck');
    if (this.#recvPaused && this.#wr - this.#rd < this.#o.tcpRecvBufMaxSize / 2) { this.#recvPaused = false; this.lastRecvAt = performance.now(); this.#socket?.resume(); }
    if (this.#o.ackDelayMs !== false && this.#socket && !this.#ackTimer) {
      this.#ackTimer = setTimeout(this.#onAckTimer, this.#o.ackDelayMs);
      this.#ackTimer.unref?.();
    }
    if (!this.#delivering) this.#scheduleDeliver();
  }
  #onAckTimer = (): void => {
    this.#ackTimer = undefined;
    if (!this.#socket || !this.queue) return;
    if (this.queue.S !== this.queue.W) this.flush();
    if (this.queue.A !== this.#ackAdvertised) { this.#heartbeat(performance.now()); this.counters.ackHeartbeats++; }
  };

  resume(): void {
    this.#assertOpen();
    this.#held = false;
    if (this.consumer) { this.#owner.kick?.(this); return; }
    this.#scheduleDeliver();
  }

  #scheduleDeliver(): void {
    if (this.#deliverScheduled) return;
    this.#deliverScheduled = true;
    queueMicrotask(() => { this.#deliverScheduled = false; if (!this.#closed) this.deliver(); });
  }

  /** @internal deliver to the handler or iterator; returns the number of messages delivered. */
  deliver(max = Infinity): number {
    if (this.#closed || this.#delivering) return 0;
    if (this.consumer !== undefined && !this.#iterActive && !this.#held) {
      // SHM, handler: nothing to do unless a record is visible (one Atomics.load when the ring is empty).
      if (this.#front === undefined && this.consumer.frontAt() < 0) { if (this.consumer.corrupt) this.#ringCorrupt(); return 0; }
    }
    let n = 0;
    this.#delivering = true;
    try {
      while (n < max && !this.#held) {
        if (this.#iterActive) {
          const w = this.#iterWaiter;
          if (!w) break;
          const m = this.front();
          if (!m) break;
          this.#iterWaiter = undefined; this.#held = true; n++;
          w(m);
          break;
        }
        const h = this.#owner.handler();
        if (!h) break;
        const m = this.front();
        if (!m) break;
        this.#held = true; n++;
        try { h(m, this); } catch (e) {
          this.#owner.error(new TcpshmError('ERR_TCPSHM_HANDLER_FAILED', `message handler threw: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
          break;
        }
        if (this.#closed) break;
      }
    } finally { this.#delivering = false; }
    return n;
  }
  /** @internal true if a message is held (handler has not popped). */
  get held(): boolean { return this.#held; }

  messages(opts: { signal?: AbortSignal } = {}): AsyncIterableIterator<Message> {
    this.#assertOpen();
    if (this.#owner.handler()) throw new TcpshmError('ERR_INVALID_STATE', 'a message handler is set on this connection');
    if (this.#iterActive) throw new TcpshmError('ERR_INVALID_STATE', 'an iterator is already active on this connection');
    this.#iterActive = true;
    this.#held = false;
    let current: Message | undefined;
    const finish = () => { this.#iterActive = false; this.#iterWaiter = undefined; this.#held = false; };
    const it: AsyncIterableIterator<Message> = {
      next: async () => {
        if (current && this.#front === current && !this.#closed) this.pop();
        current = undefined;
        if (this.#closed) { finish(); return { done: true, value: undefined }; }
        if (opts.signal?.aborted) { finish(); throw new TcpshmError('ERR_ABORTED', 'iteration aborted', { cause: opts.signal.reason }); }
        const m = await new Promise<Message | undefined>((resolve, reject) => {
          const onAbort = () => { this.#iterWaiter = undefined; reject(new TcpshmError('ERR_ABORTED', 'iteration aborted', { cause: opts.signal?.reason })); };
          const onClose = () => { this.#iterWaiter = undefined; resolve(undefined); };
          this.once('close', onClose);
          opts.signal?.addEventListener('abort', onAbort, { once: true });
          this.#iterWaiter = (msg) => { this.off('close', onClose); opts.signal?.removeEventListener('abort', onAbort); resolve(msg); };
          if (this.consumer) this.#owner.kick?.(this); else this.deliver();
        }).catch((e) => { finish(); throw e; });
        if (m === undefined) { finish(); return { done: true, value: undefined }; }
        current = m;
        return { done: false, value: m };
      },
      return: async () => { finish(); return { done: true, value: undefined }; },
      [Symbol.asyncIterator]() { return it; },
    };
    return it;
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> { return this.messages(); }
  /** @internal an iterator is active. */
  get iterating(): boolean { return this.#iterActive; }

  stats(): ConnectionStats {
    const q = this.queue;
    let recvPendingMessages = 0, recvPendingBytes = 0;
    if (this.consumer) { recvPendingBytes = this.consumer.pendingBytes(); recvPendingMessages = this.#front ? 1 : 0; }
    else { recvPendingMessages = this.#frames.length - this.#fh + (this.#carried ? 1 : 0); recvPendingBytes = this.#parse - this.#rd; }
    return {
      myAck: q ? q.A : 0, readSeq: q ? q.RS : 0, seqEnd: q ? q.seqEnd : 0,
      sendQueueMessages: q ? q.queued : this.producer ? this.producer.pendingMessages() : 0,
      sendQueueBytes: q ? q.queuedBytes : this.producer ? this.producer.pendingBytes() : 0,
      sendQueueCapacity: q ? q.B : this.producer ? this.producer.Q : 0,
      unsentBytes: q ? q.unsentBytes : 0,
      recvPendingMessages, recvPendingBytes,
      ...this.counters,
      journalRecoveries: q ? q.journalRecoveries : 0, msyncs: q ? q.msyncs : 0,
    };
  }

  /** @internal close for good: end the link silently, unmap, detach views. */
  dispose(): void {
    if (this.#closed) return;
    this.endLink(new TcpshmError('ERR_CLOSED', 'closed', { reasonText: 'Release' }), false, true);
    this.#closed = true;
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#store?.close();
    this.producer?.close();
    this.consumer?.close();
    this.#front = undefined; this.#carried = undefined;
    this.#iterWaiter?.(undefined);
    for (const w of [...this.#drainWaiters]) w();
    this.emit('close');
  }
}

export { EMPTY, u32 };
