// TcpshmClient (spec §3.5, §5.7, §5.14).
import { testPoint } from '@shmkit/shm-core/internal';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { TcpshmError, isTcpshmError } from './errors.js';
import { bad, type TcpshmCommonOptions } from './options.js';
import { TcpshmConnection, type MessageHandler } from './connection.js';
import type { ConnectionStats } from './internal/metrics.js';
import { nameProblem } from './internal/names.js';
import { decodeLoginResponse, encodeLoginRequest, inRange, type LoginResponse } from './internal/wire.js';
import { ensureDir, FileStore, LastServerFile } from './internal/storage.js';
import { openPairRings, type PairRings } from './internal/shm-pair.js';
import { OwnerBase } from './internal/owner.js';
import { ShmCheckClient, type ShmCheckResult } from './internal/shm-check.js';

export type LoginRejectReason = 'invalid-name' | 'rejected' | 'max-clients' | 'already-logged-on' | 'system-error' | 'other';
export interface LoginResponseInfo {
  serverName: string; status: 0 | 1 | 2; message: string;
  rspUserData: Uint8Array; serverAck: number; serverSeqStart: number; serverSeqEnd: number;
}
export interface SeqMismatchInfo {
  local: { ack: number; start: number; end: number };
  remote: { ack: number; start: number; end: number };
  clientName: string; serverName: string;
}
export interface ReconnectOptions {
  initialDelayMs?: number; maxDelayMs?: number; factor?: number; jitter?: number; maxAttempts?: number;
  retryLoginRejects?: readonly LoginRejectReason[];
}
export interface ConnectOptions {
  host: string; port: number; shm?: boolean; loginUserData?: Uint8Array; timeoutMs?: number;
  signal?: AbortSignal; reconnect?: boolean | ReconnectOptions;
}
export interface TcpshmClientOptions extends TcpshmCommonOptions {
  shmCheck?: 'off' | 'try' | 'require';
  shmCheckTimeoutMs?: number;
  onMessage?: MessageHandler;
  onLoginSuccess?: (rsp: LoginResponseInfo) => void;
}
export interface TcpshmClientEvents {
  loginSuccess: [rsp: LoginResponseInfo];
  loginReject: [error: TcpshmError];
  seqMismatch: [info: SeqMismatchInfo];
  disconnect: [reason: TcpshmError];
  reconnecting: [info: { attempt: number; delayMs: number; cause: TcpshmError }];
  reconnected: [conn: TcpshmConnection];
  reconnectFailed: [error: TcpshmError];
  serverChanged: [info: { from: string; to: string; discardedMessages: number }];
  stateLost: [info: { mode: 'tcp' | 'shm' }];
  shmCheck: [result: ShmCheckResult];
  error: [error: TcpshmError];
  close: [];
}
export interface TcpshmClientMetrics {
  connection?: ConnectionStats; reconnects: number; reconnectAttempts: number; loginRejects: number; seqMismatches: number;
}

const RETRIABLE = new Set(['ERR_PEER_TIMEOUT', 'ERR_TCPSHM_CONNECT', 'ERR_TCPSHM_LOGIN_FAILED', 'ERR_TCPSHM_LOGIN_TIMEOUT',
  'ERR_TCPSHM_REMOTE_CLOSE', 'ERR_TCPSHM_SOCKET', 'ERR_TCPSHM_REPLACED']);

export function rejectReason(msg: string): LoginRejectReason {
  const m = msg.toLowerCase();
  if (m === 'invalid client name') return 'invalid-name';
  if (m === 'max client cnt exceeded') return 'max-clients';
  if (m === 'already loggned on') return 'already-logged-on';
  if (m === 'system error') return 'system-error';
  return 'rejected';
}

interface Pair { mode: 'tcp' | 'shm'; server: string; conn: TcpshmConnection; created: boolean }

export class TcpshmClient extends OwnerBase<TcpshmClientEvents> implements AsyncDisposable {
  #shmCheck: 'off' | 'try' | 'require';
  #shmCheckTimeoutMs: number;
  #onLoginSuccess: ((rsp: LoginResponseInfo) => void) | undefined;
  #state = 'idle' as 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';
  #isClosed(): boolean { return this.#state === 'closed'; }
  #last: LastServerFile | undefined;
  #pair: Pair | undefined;
  #connectOpts: ConnectOptions | undefined;
  #reconnect: Required<ReconnectOptions> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #pendingSocket: Socket | undefined;
  #check: ShmCheckClient | undefined;
  #metrics = { reconnects: 0, reconnectAttempts: 0, loginRejects: 0, seqMismatches: 0 };

  constructor(options: TcpshmClientOptions) {
    super(options);
    const sc = options.shmCheck ?? 'try';
    if (!['off', 'try', 'require'].includes(sc)) throw bad('shmCheck', 'must be off, try or require');
    this.#shmCheck = sc;
    this.#shmCheckTimeoutMs = options.shmCheckTimeoutMs ?? 1000;
    this.#onLoginSuccess = options.onLoginSuccess;
  }

  get state(): 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' { return this.#state; }
  get connection(): TcpshmConnection | undefined { return this.#pair?.conn; }

  // ConnectionOwner
  controlFrame(conn: TcpshmConnection, type: number, frame: Uint8Array): void { this.#check?.onFrame(conn, type, frame); }
  linkEnded(conn: TcpshmConnection, reason: TcpshmError, byApp: boolean): void {
    this.driver.remove(conn);
    this.#check?.cancel(); this.#check = undefined;
    if (this.#state === 'closed') return;
    this.emit('disconnect', reason);
    if (this.#state === 'open') this.#state = 'idle';
    if (!byApp && this.#reconnect && this.#connectOpts && RETRIABLE.has(reason.code)) this.#scheduleReconnect(reason);
  }

  /** @internal */
  protected kickAll(): void { const c = this.#pair?.conn; if (c) this.rearm(c); }

  async connect(opts: ConnectOptions): Promise<TcpshmConnection> {
    if (this.#state === 'closed') throw new TcpshmError('ERR_CLOSED', 'client closed', { reasonText: 'Release' });
    if (this.#state !== 'idle') throw new TcpshmError('ERR_TCPSHM_ALREADY_CONNECTED', 'connect() while connecting or open', { reasonText: 'already connected' });
    const ud = opts.loginUserData ?? new Uint8Array(this.o.loginUserDataSize);
    if (!(ud instanceof Uint8Array) || ud.length !== this.o.loginUserDataSize) {
      throw new TcpshmError('ERR_INVALID_ARGUMENT', `loginUserData must be exactly ${this.o.loginUserDataSize} bytes`, { details: { option: 'loginUserData' } });
    }
    this.#connectOpts = { ...opts, loginUserData: ud };
    this.#reconnect = opts.reconnect ? {
      initialDelayMs: 100, maxDelayMs: 5000, factor: 2, jitter: 0.2, maxAttempts: Infinity,
      retryLoginRejects: ['already-logged-on', 'max-clients'], ...(typeof opts.reconnect === 'object' ? opts.reconnect : {}),
    } : undefined;
    this.#attempt = 0;
    for (;;) {
      try {
        return await this.#connectOnce(this.#connectOpts);
      } catch (e) {
        const err = e as TcpshmError;
        if (!this.#reconnect || !this.#retriable(err) || this.#isClosed() || opts.signal?.aborted) { if (!this.#isClosed()) this.#state = 'idle'; throw err; }
        this.#attempt++;
        if (this.#attempt >= this.#reconnect.maxAttempts) { this.#state = 'idle'; this.emit('reconnectFailed', err); throw err; }
        const delay = this.#delay();
        this.#state = 'reconnecting';
        this.#metrics.reconnectAttempts++;
        this.emit('reconnecting', { attempt: this.#attempt, delayMs: delay, cause: err });
        await new Promise<void>((resolve) => { this.#reconnectTimer = setTimeout(resolve, delay); });
        this.#reconnectTimer = undefined;
        if (this.#isClosed()) throw new TcpshmError('ERR_CLOSED', 'client closed while reconnecting');
        this.#state = 'idle';
      }
    }
  }

  #retriable(e: unknown): boolean {
    if (!isTcpshmError(e)) return false;
    if (RETRIABLE.has(e.code)) return true;
    if (e.code === ('ERR_TCPSHM_LOGIN_REJECTED' as string)) return (this.#reconnect?.retryLoginRejects ?? []).includes((e.details as { reason: LoginRejectReason }).reason);
    return false;
  }
  #delay(): number {
    const r = this.#reconnect!;
    const base = Math.min(r.maxDelayMs, r.initialDelayMs * r.factor ** (this.#attempt - 1));
    return Math.max(0, Math.round(base * (1 + r.jitter * (Math.random() * 2 - 1))));
  }
  #scheduleReconnect(cause: TcpshmError): void {
    const run = () => {
      this.#reconnectTimer = undefined;
      if (this.#state === 'closed') return;
      this.#state = 'idle';
      this.#connectOnce(this.#connectOpts!).then((conn) => {
        this.#metrics.reconnects++; this.emit('reconnected', conn);
      }, (e: TcpshmError) => {
        if (this.#state === 'closed') return;
        this.#state = 'idle';
        if (!this.#retriable(e)) { this.emit('reconnectFailed', e); return; }
        this.#scheduleReconnect(e);
      });
    };
    this.#attempt++;
    if (this.#attempt > this.#reconnect!.maxAttempts) { this.emit('reconnectFailed', cause); return; }
    const delay = this.#delay();
    this.#state = 'reconnecting';
    this.#metrics.reconnectAttempts++;
    this.emit('reconnecting', { attempt: this.#attempt, delayMs: delay, cause });
    this.#reconnectTimer = setTimeout(run, delay);
  }

  #openPair(mode: 'tcp' | 'shm', server: string): Pair {
    const o = this.o;
    if (mode === 'tcp') {
      const store = FileStore.open(join(o.ptcpDir, `${this.name}_${server}.ptcp`), o.tcpQueueSize + 20,
        { mode: o.fileMode, lock: true, role: 'ptcp', durable: o.durability !== 'none' });
      const conn = new TcpshmConnection({ options: o, owner: this, role: 'client', mode, remoteName: server, group: -1, store, point: testPoint });
      try { conn.queue!.open(); } catch (e) { conn.dispose(); throw e; }
      return { mode, server, conn, created: store.created };
    }
    const rings: PairRings = openPairRings(o, this.name, server, testPoint);
    const conn = new TcpshmConnection({ options: o, owner: this, role: 'client', mode, remoteName: server, group: -1,
      producer: rings.producer, consumer: rings.consumer, point: testPoint });
    return { mode, server, conn, created: rings.created };
  }

  async #connectOnce(opts: ConnectOptions): Promise<TcpshmConnection> {
    const o = this.o;
    const mode: 'tcp' | 'shm' = opts.shm ? 'shm' : 'tcp';
    this.#state = 'connecting';
    ensureDir(o.ptcpDir, o.dirMode);
    this.#last ??= LastServerFile.open(join(o.ptcpDir, `${this.name}.lastserver`), o.nameSize, o.fileMode, o.durability !== 'none');
    const raw = this.#last.read();
    let end = raw.indexOf(0); if (end < 0) end = raw.length;
    const last = new TextDecoder().decode(raw.subarray(0, end));
    if (last !== '' && nameProblem(last, o.nameSize, o.nameRule) !== undefined) {
      throw new TcpshmError('ERR_TCPSHM_LASTSERVER_CORRUPT', `${this.#last.path} does not hold a valid name`, { details: { path: this.#last.path } });
    }
    // Step 3: the pair state of the last server in this mode.
    let pair = this.#pair;
    if (pair && (pair.mode !== mode || pair.server !== last)) { this.#releasePair(); pair = undefined; }
    let freshlyCreated = false;
    if (!pair && last !== '') { pair = this.#openPair(mode, last); this.#pair = pair; freshlyCreated = pair.created; }
    let local = { ack: 0, start: 0, end: 0 };
    if (pair && mode === 'tcp') { const q = pair.conn.queue!; local = { ack: q.A, start: q.RS, end: q.seqEnd }; }
    const req = encodeLoginRequest(o, this.layout, { clientAck: local.ack, clientSeqStart: local.start, clientSeqEnd: local.end,
      userData: opts.loginUserData!, useShm: mode === 'shm', clientName: this.name, lastServerName: last });
    if (pair?.conn.queue && o.durability !== 'none') pair.conn.queue.syncIndex();
    const { socket, rsp, leftover } = await this.#exchange(opts, req);
    try {
      const info: LoginResponseInfo = { serverName: rsp.serverName, status: rsp.status as 0 | 1 | 2, message: rsp.errorMsg,
        rspUserData: rsp.userData, serverAck: rsp.serverAck, serverSeqStart: rsp.serverSeqStart, serverSeqEnd: rsp.serverSeqEnd };
      if (rsp.status === 1) {
        const mi: SeqMismatchInfo = { local, remote: { ack: rsp.serverAck, start: rsp.serverSeqStart, end: rsp.serverSeqEnd }, clientName: this.name, serverName: rsp.serverName };
        this.#metrics.seqMismatches++;
        this.emit('seqMismatch', mi);
        throw new TcpshmError('ERR_TCPSHM_SEQ_MISMATCH', `seq number mismatch with ${rsp.serverName}: local ack ${local.ack} [${local.start}, ${local.end}], server ack ${rsp.serverAck} [${rsp.serverSeqStart}, ${rsp.serverSeqEnd}]`, { details: { ...mi, detectedBy: 'server' } });
      }
      if (rsp.status === 2) {
        const reason = rejectReason(rsp.errorMsg);
        const err = new TcpshmError('ERR_TCPSHM_LOGIN_REJECTED', `login rejected by ${rsp.serverName}: ${rsp.errorMsg}`,
          { reasonText: rsp.errorMsg, details: { reason, serverMessage: rsp.errorMsg, serverName: rsp.serverName } });
        this.#metrics.loginRejects++;
        this.emit('loginReject', err);
        throw err;
      }
      // Step 10: server rename.
      if (rsp.serverName !== last) {
        let discarded = 0;
        if (pair) {
          discarded = pair.conn.queue ? pair.conn.queue.queued : (pair.conn.producer!.pendingBytes() > 0 ? 1 : 0);
          this.#releasePair(); pair = undefined;
        }
        pair = this.#openPair(mode, rsp.serverName);
        this.#pair = pair;
        if (mode === 'tcp') pair.conn.queue!.zero();
        this.#last.write(rsp.serverName, testPoint);
        local = { ack: 0, start: 0, end: 0 };
        freshlyCreated = false;
        if (last !== '') this.emit('serverChanged', { from: last, to: rsp.serverName, discardedMessages: discarded });
      }
      pair = pair!;
      if (mode === 'tcp') {
        const q = pair.conn.queue!;
        local = { ack: q.A, start: q.RS, end: q.seqEnd };
        if (!inRange(rsp.serverAck, local.start, local.end) || !inRange(local.ack, rsp.serverSeqStart, rsp.serverSeqEnd)) {
          const mi: SeqMismatchInfo = { local, remote: { ack: rsp.serverAck, start: rsp.serverSeqStart, end: rsp.serverSeqEnd }, clientName: this.name, serverName: rsp.serverName };
          this.#metrics.seqMismatches++;
          this.emit('seqMismatch', mi);
          throw new TcpshmError('ERR_TCPSHM_SEQ_MISMATCH', `server ${rsp.serverName} answered numbers inconsistent with the local state`, { details: { ...mi, detectedBy: 'client' } });
        }
      }
      if (freshlyCreated && last === rsp.serverName) this.emit('stateLost', { mode });
      try { this.#onLoginSuccess?.(info); } catch (e) {
        throw new TcpshmError('ERR_TCPSHM_HANDLER_FAILED', `onLoginSuccess threw: ${(e as Error)?.message}`, { cause: e });
      }
      this.emit('loginSuccess', info);
      const conn = pair.conn;
      if (mode === 'shm') { conn.producer!.resync(); conn.consumer!.resync(); }
      const err = conn.attach(socket, leftover, rsp.serverAck);
      if (err) throw err;
      this.#state = 'open';
      this.#attempt = 0;
      this.startTick((now, stalled) => this.#pair?.conn.tick(now, stalled));
      if (mode === 'shm') {
        this.driver.add(conn);
        this.#check = new ShmCheckClient(o, conn, this.#shmCheck, this.#shmCheckTimeoutMs, this.driver, (r) => this.emit('shmCheck', r));
        this.#check.start();
      }
      return conn;
    } catch (e) {
      socket.destroy();
      if (this.#state !== 'open') this.#state = 'idle';
      throw e;
    }
  }

  #releasePair(): void {
    const p = this.#pair;
    if (!p) return;
    this.#pair = undefined;
    this.driver.remove(p.conn);
    p.conn.dispose();
  }

  /** Connect + login exchange with one deadline (§5.7 steps 5–8). */
  #exchange(opts: ConnectOptions, req: Uint8Array): Promise<{ socket: Socket; rsp: LoginResponse; leftover: Uint8Array }> {
    const o = this.o, l = this.layout;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let got: Buffer = Buffer.alloc(0);
      let connected = false;
      const socket = netConnect({ host: opts.host, port: opts.port });
      this.#pendingSocket = socket;
      socket.setNoDelay(o.tcpNoDelay);
      const done = (err: TcpshmError | undefined, v?: { socket: Socket; rsp: LoginResponse; leftover: Uint8Array }) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        socket.off('data', onData); socket.off('error', onError); socket.off('close', onClose); socket.off('connect', onConnect);
        this.#pendingSocket = undefined;
        if (err) { socket.on('error', () => {}); socket.destroy(); reject(err); } else resolve(v!);
      };
      const onAbort = () => done(new TcpshmError('ERR_ABORTED', 'connect aborted', { cause: opts.signal?.reason }));
      const timer = setTimeout(() => done(new TcpshmError('ERR_TCPSHM_LOGIN_TIMEOUT', `no login response within ${timeoutMs} ms`, { reasonText: 'recv' })), timeoutMs);
      const onConnect = () => { connected = true; socket.write(req); };
      const onError = (e: Error) => done(connected
        ? new TcpshmError('ERR_TCPSHM_LOGIN_FAILED', `connection failed during login: ${e.message}`, { reasonText: 'recv', cause: e })
        : new TcpshmError('ERR_TCPSHM_CONNECT', `connect to ${opts.host}:${opts.port} failed: ${e.message}`, { reasonText: 'connect', cause: e }));
      const onClose = () => done(new TcpshmError('ERR_TCPSHM_LOGIN_FAILED',
        'the server closed the connection before a complete login response (it dropped the login: check nameSize/user-data sizes, or the server is full)',
        { reasonText: 'recv', details: { hint: 'check nameSize/user-data sizes' } }));
      const onData = (chunk: Buffer) => {
        got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
        if (got.length < l.rspFrame) return;
        const frame = new Uint8Array(got.buffer, got.byteOffset, l.rspFrame);
        const rsp = decodeLoginResponse(o, l, frame);
        const invalid = (why: string) => done(new TcpshmError('ERR_TCPSHM_INVALID_LOGIN_RSP', `Invalid LoginRsp: ${why}`, { reasonText: 'Invalid LoginRsp' }));
        if (!rsp) return invalid('wrong size or msg_type');
        if (nameProblem(rsp.serverName, o.nameSize, o.nameRule) !== undefined) return invalid(`bad server name ${JSON.stringify(rsp.serverName)}`);
        if (rsp.status > 2) return invalid(`unknown status ${rsp.status}`);
        socket.pause();
        done(undefined, { socket, rsp, leftover: new Uint8Array(got.subarray(l.rspFrame)) });
      };
      if (opts.signal?.aborted) { queueMicrotask(onAbort); return; }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('connect', onConnect); socket.on('data', onData); socket.on('error', onError); socket.on('close', onClose);
    });
  }

  poll(maxMessages = Infinity): number {
    const c = this.#pair?.conn;
    if (!c || c.isClosed) return 0;
    return c.deliver(maxMessages);
  }

  metrics(): TcpshmClientMetrics {
    return { connection: this.#pair?.conn.stats(), ...this.#metrics };
  }

  async close(opts: { drain?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#reconnectTimer) { clearTimeout(this.#reconnectTimer); this.#reconnectTimer = undefined; }
    let timedOut = false;
    const conn = this.#pair?.conn;
    if (opts.drain && conn && !conn.isClosed) {
      const end = performance.now() + (opts.timeoutMs ?? 10_000);
      const empty = () => conn.queue ? conn.queue.queued === 0 : conn.producer!.pendingBytes() === 0;
      while (!empty()) {
        if (performance.now() > end) { timedOut = true; break; }
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    this.#state = 'closed';
    this.#pendingSocket?.destroy();
    this.#check?.cancel();
    this.driver.stop();
    this.stopTick();
    this.#releasePair();
    this.#last?.close(); this.#last = undefined;
    this.emit('close');
    if (timedOut) throw new TcpshmError('ERR_TIMEOUT', 'close({ drain }) timed out before every message was acked');
  }
  async [Symbol.asyncDispose](): Promise<void> { await this.close(); }
}
