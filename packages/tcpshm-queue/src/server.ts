// TcpshmServer (spec §3.4, §5.8).
import { testPoint } from '@shmkit/shm-core/internal';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { TcpshmError, isTcpshmError } from './errors.js';
import { bad, intIn, TCPSHM_DEFAULTS, TCPSHM_REJECT_TEXT, type TcpshmCommonOptions } from './options.js';
import { TcpshmConnection, type MessageHandler } from './connection.js';
import type { ConnectionStats } from './internal/metrics.js';
import { fnv1a32, nameProblem } from './internal/names.js';
import { decodeLoginRequest, encodeLoginResponse, inRange, MSG_LOGIN } from './internal/wire.js';
import { ensureDir, FileStore } from './internal/storage.js';
import type { LoginRejectReason, SeqMismatchInfo } from './client.js';
import { rejectReason } from './client.js';
import { openPairRings } from './internal/shm-pair.js';
import { OwnerBase } from './internal/owner.js';
import { serverCheck, type ShmCheckResult } from './internal/shm-check.js';

export interface LoginRequestInfo {
  clientName: string; lastServerName: string; mode: 'tcp' | 'shm';
  loginUserData: Uint8Array;
  clientAck: number; clientSeqStart: number; clientSeqEnd: number;
  remoteAddress: string; remotePort: number; remoteFamily: string;
}
export type NewConnectionDecision =
  | { accept: true; group?: number; rspUserData?: Uint8Array; userData?: unknown }
  | { accept: false; message?: string; rspUserData?: Uint8Array };

export interface TcpshmServerOptions extends TcpshmCommonOptions {
  groups?: { tcp?: number; shm?: number };
  connectionsPerGroup?: { tcp?: number; shm?: number };
  maxPendingLogins?: number;
  newConnectionTimeoutMs?: number;
  slotPolicy?: 'release-offline' | 'reference';
  duplicateLogin?: 'reject' | 'replace';
  shmLocalOnly?: boolean;
  onNewConnection?: (req: LoginRequestInfo) => NewConnectionDecision | Promise<NewConnectionDecision>;
  onMessage?: MessageHandler;
}
export interface TcpshmServerEvents {
  listening: [address: AddressInfo];
  logon: [conn: TcpshmConnection, req: LoginRequestInfo];
  disconnect: [conn: TcpshmConnection, reason: TcpshmError];
  seqMismatch: [conn: TcpshmConnection, info: SeqMismatchInfo];
  fileError: [conn: TcpshmConnection | undefined, error: TcpshmError];
  loginFailed: [info: { remoteAddress: string; clientName?: string; error: TcpshmError }];
  pairReset: [conn: TcpshmConnection, info: { discardedMessages: number; reason: 'renamed' }];
  stateLost: [conn: TcpshmConnection, info: { mode: 'tcp' | 'shm' }];
  shmCheck: [conn: TcpshmConnection, result: ShmCheckResult];
  error: [error: TcpshmError];
  close: [];
}
export interface TcpshmServerMetrics {
  accepted: number; pendingLogins: number; pendingOverflow: number; loginTimeouts: number; badLogins: number;
  loginRejects: Record<LoginRejectReason, number>; seqMismatches: number; liveConnections: number;
  boundConnections: number; evictions: number; connections: Record<string, ConnectionStats>;
}

type Mode = 'tcp' | 'shm';
class Reject { constructor(readonly text: string, readonly rspUserData?: Uint8Array) {} }

export class TcpshmServer extends OwnerBase<TcpshmServerEvents> implements AsyncDisposable {
  #groups: Record<Mode, number>;
  #perGroup: Record<Mode, number>;
  #maxPending: number;
  #loginTimeout: number;
  #slotPolicy: 'release-offline' | 'reference';
  #duplicate: 'reject' | 'replace';
  #shmLocalOnly: boolean;
  #onNew: TcpshmServerOptions['onNewConnection'];
  #server: Server | undefined;
  #pending = new Set<Socket>();
  #loggingIn = new Set<string>();
  /** name → connection per mode; a name is bound to at most one connection object per mode. */
  #bound: Record<Mode, Map<string, TcpshmConnection>> = { tcp: new Map(), shm: new Map() };
  #closed = false;
  #m = { accepted: 0, pendingOverflow: 0, loginTimeouts: 0, badLogins: 0, seqMismatches: 0, evictions: 0,
    loginRejects: { 'invalid-name': 0, rejected: 0, 'max-clients': 0, 'already-logged-on': 0, 'system-error': 0, other: 0 } as Record<LoginRejectReason, number> };
  /** Test hook: decides whether an address belongs to this host (shmLocalOnly). */
  isLocalAddress: (addr: string) => boolean = defaultIsLocal;

  constructor(options: TcpshmServerOptions) {
    super(options);
    const g = (options.groups ?? {}) as Record<string, unknown>;
    const c = (options.connectionsPerGroup ?? {}) as Record<string, unknown>;
    this.#groups = { tcp: intIn(g, 'tcp', 1, 0, 1024), shm: intIn(g, 'shm', 1, 0, 1024) };
    this.#perGroup = { tcp: intIn(c, 'tcp', 64, 1, 65536), shm: intIn(c, 'shm', 16, 1, 65536) };
    const o = options as unknown as Record<string, unknown>;
    this.#maxPending = intIn(o, 'maxPendingLogins', 5, 1, 65536);
    this.#loginTimeout = intIn(o, 'newConnectionTimeoutMs', 3000, 1, 2 ** 31);
    this.#slotPolicy = options.slotPolicy ?? 'release-offline';
    if (!['release-offline', 'reference'].includes(this.#slotPolicy)) throw bad('slotPolicy', 'must be release-offline or reference');
    this.#duplicate = options.duplicateLogin ?? 'reject';
    if (!['reject', 'replace'].includes(this.#duplicate)) throw bad('duplicateLogin', 'must be reject or replace');
    this.#shmLocalOnly = options.shmLocalOnly === true;
    this.#onNew = options.onNewConnection;
  }

  /** @internal */
  protected kickAll(): void { for (const c of this.liveConnections()) this.rearm(c); }

  get listening(): boolean { return this.#server?.listening === true; }

  // ConnectionOwner
  controlFrame(conn: TcpshmConnection, type: number, frame: Uint8Array): void {
    const r = serverCheck(this.o, conn, type, frame, this.driver);
    if (r) this.emit('shmCheck', conn, r);
  }
  linkEnded(conn: TcpshmConnection, reason: TcpshmError): void {
    this.driver.remove(conn);
    if (!this.#closed) this.emit('disconnect', conn, reason);
  }

  listen(opts: { port: number; host?: string; backlog?: number }): Promise<AddressInfo> {
    if (this.#closed) return Promise.reject(new TcpshmError('ERR_CLOSED', 'server closed'));
    if (this.#server) return Promise.reject(new TcpshmError('ERR_INVALID_STATE', 'listen() called twice'));
    try { ensureDir(this.o.ptcpDir, this.o.dirMode); } catch (e) { return Promise.reject(e); }
    const srv = createServer({ noDelay: this.o.tcpNoDelay }, (s) => this.#onSocket(s));
    this.#server = srv;
    return new Promise((resolve, reject) => {
      srv.once('error', (e) => { this.#server = undefined; reject(new TcpshmError('ERR_TCPSHM_SOCKET', `listen failed: ${e.message}`, { cause: e })); });
      srv.listen({ port: opts.port, host: opts.host, backlog: opts.backlog }, () => {
        const addr = srv.address() as AddressInfo;
        srv.on('error', (e) => this.error(new TcpshmError('ERR_TCPSHM_SOCKET', `server socket error: ${e.message}`, { cause: e })));
        this.startTick((now, stalled) => { for (const m of [this.#bound.tcp, this.#bound.shm]) for (const c of m.values()) c.tick(now, stalled); });
        this.emit('listening', addr);
        resolve(addr);
      });
    });
  }

  #loginFailed(sock: Socket, error: TcpshmError, clientName?: string): void {
    this.emit('loginFailed', { remoteAddress: sock.remoteAddress ?? '', clientName, error });
  }

  #onSocket(sock: Socket): void {
    sock.on('error', () => {});
    if (this.#closed) { sock.destroy(); return; }
    if (this.#pending.size >= this.#maxPending) { this.#m.pendingOverflow++; sock.destroy(); return; }
    this.#m.accepted++;
    this.#pending.add(sock);
    sock.setNoDelay(this.o.tcpNoDelay);
    const l = this.layout;
    const little = this.o.byteOrder === 'little';
    let got: Buffer = Buffer.alloc(0);
    let finished = false;
    const deadline = performance.now() + this.#loginTimeout;
    const stop = () => { finished = true; clearTimeout(timer); sock.off('data', onData); sock.off('close', onClose); };
    const drop = (e: TcpshmError) => { if (finished) return; stop(); this.#pending.delete(sock); sock.destroy(); this.#loginFailed(sock, e); };
    const timer = setTimeout(() => { this.#m.loginTimeouts++; drop(new TcpshmError('ERR_TIMEOUT', `no complete login within ${this.#loginTimeout} ms`)); }, this.#loginTimeout);
    const onClose = () => drop(new TcpshmError('ERR_TCPSHM_BAD_LOGIN', 'connection closed before a complete login'));
    const onData = (chunk: Buffer) => {
      got = got.length === 0 ? chunk : Buffer.concat([got, chunk]);
      if (got.length >= 8) {
        const size = little ? got.readUInt16LE(0) : got.readUInt16BE(0);
        const type = little ? got.readUInt16LE(2) : got.readUInt16BE(2);
        if (size !== l.reqSize || type !== MSG_LOGIN) {
          this.#m.badLogins++;
          drop(new TcpshmError('ERR_TCPSHM_BAD_LOGIN', `bad login header: size ${size}, msg_type ${type}`, { details: { size, type } }));
          return;
        }
      }
      if (got.length < l.reqFrame) return;
      stop();
      sock.pause();
      const frame = new Uint8Array(got.subarray(0, l.reqFrame));
      const leftover = new Uint8Array(got.subarray(l.reqFrame));
      this.#login(sock, frame, leftover, deadline).catch((e: unknown) => {
        this.error(isTcpshmError(e) ? e : new TcpshmError('ERR_TCPSHM_HANDLER_FAILED', String(e), { cause: e }));
        sock.destroy();
      }).finally(() => this.#pending.delete(sock));
    };
    sock.on('data', onData);
    sock.on('close', onClose);
  }

  #respond(sock: Socket, status: number, text: string, nums: { ack: number; start: number; end: number }, ud?: Uint8Array): Uint8Array {
    return encodeLoginResponse(this.o, this.layout, { serverAck: nums.ack, serverSeqStart: nums.start, serverSeqEnd: nums.end,
      userData: ud ?? new Uint8Array(this.o.loginRspUserDataSize), status, serverName: this.name, errorMsg: text });
  }
  #reject(sock: Socket, text: string, clientName: string | undefined, ud?: Uint8Array): void {
    const reason = rejectReason(text);
    this.#m.loginRejects[reason]++;
    sock.end(this.#respond(sock, 2, text, { ack: 0, start: 0, end: 0 }, ud));
    this.#loginFailed(sock, new TcpshmError('ERR_TCPSHM_LOGIN_REJECTED', `login rejected: ${text}`, { reasonText: text, details: { reason, serverMessage: text, serverName: this.name } }), clientName);
  }

  async #decide(req: LoginRequestInfo, deadline: number): Promise<NewConnectionDecision | Reject | undefined> {
    const mode = req.mode;
    if (!this.#onNew) {
      if (this.#groups[mode] === 0) return new Reject(mode === 'tcp' ? TCPSHM_REJECT_TEXT.tcpDisabled : TCPSHM_REJECT_TEXT.shmDisabled);
      return { accept: true, group: fnv1a32(req.clientName) % this.#groups[mode] };
    }
    let t: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<undefined>((resolve) => { t = setTimeout(() => resolve(undefined), Math.max(0, deadline - performance.now())); });
      return await Promise.race([Promise.resolve().then(() => this.#onNew!(req)), late]);
    } catch (e) {
      this.error(new TcpshmError('ERR_TCPSHM_HANDLER_FAILED', `onNewConnection threw: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
      return new Reject(TCPSHM_REJECT_TEXT.rejected);
    } finally { if (t) clearTimeout(t); }
  }

  async #login(sock: Socket, frame: Uint8Array, leftover: Uint8Array, deadline: number): Promise<void> {
    const o = this.o;
    const r = decodeLoginRequest(o, this.layout, frame);
    const mode: Mode = r.useShm ? 'shm' : 'tcp';
    const name = r.clientName;
    if (nameProblem(name, o.nameSize, o.nameRule) !== undefined) { this.#reject(sock, TCPSHM_REJECT_TEXT.invalidName, name); return; }
    const req: LoginRequestInfo = { clientName: name, lastServerName: r.lastServerName, mode, loginUserData: r.userData,
      clientAck: r.clientAck, clientSeqStart: r.clientSeqStart, clientSeqEnd: r.clientSeqEnd,
      remoteAddress: sock.remoteAddress ?? '', remotePort: sock.remotePort ?? 0, remoteFamily: sock.remoteFamily ?? '' };
    if (mode === 'shm' && this.#shmLocalOnly && !this.isLocalAddress(req.remoteAddress)) { this.#reject(sock, TCPSHM_REJECT_TEXT.shmRequiresSameHost, name); return; }
    const d = await this.#decide(req, deadline);
    if (this.#closed || sock.destroyed) { sock.destroy(); return; }
    if (d === undefined) { this.#m.loginTimeouts++; sock.destroy(); this.#loginFailed(sock, new TcpshmError('ERR_TIMEOUT', 'onNewConnection did not decide within the login deadline'), name); return; }
    if (d instanceof Reject) { this.#reject(sock, d.text, name); return; }
    if (!d.accept) {
      const text = d.message ?? TCPSHM_REJECT_TEXT.rejected;
      // eslint-disable-next-line no-control-regex
      if (!/^[\x00-\x7f]*$/.test(text)) { this.error(new TcpshmError('ERR_INVALID_ARGUMENT', 'reject message must be ASCII')); this.#reject(sock, TCPSHM_REJECT_TEXT.rejected, name); return; }
      this.#reject(sock, text.slice(0, 31), name, d.rspUserData?.length === o.loginRspUserDataSize ? d.rspUserData : undefined); return;
    }
    const group = d.group ?? 0;
    if (!Number.isInteger(group) || group < 0 || group >= this.#groups[mode]) {
      this.error(new TcpshmError('ERR_TCPSHM_INVALID_GROUP', `onNewConnection returned group ${String(group)} outside [0, ${this.#groups[mode]})`));
      this.#reject(sock, TCPSHM_REJECT_TEXT.rejected, name); return;
    }
    if (d.rspUserData !== undefined && d.rspUserData.length !== o.loginRspUserDataSize) {
      this.error(new TcpshmError('ERR_INVALID_ARGUMENT', `rspUserData must be ${o.loginRspUserDataSize} bytes`));
      this.#reject(sock, TCPSHM_REJECT_TEXT.rejected, name); return;
    }
    // Duplicate check (§5.8 step 7).
    const live = [this.#bound.tcp.get(name), this.#bound.shm.get(name)].filter((c) => c?.isOpen);
    if (this.#loggingIn.has(name) || live.length > 0) {
      if (this.#duplicate === 'reject' || this.#loggingIn.has(name)) { this.#reject(sock, TCPSHM_REJECT_TEXT.alreadyLoggedOn, name); return; }
      for (const c of live) c!.endLink(new TcpshmError('ERR_TCPSHM_REPLACED', 'link replaced by a newer login'));
    }
    this.#loggingIn.add(name);
    try { this.#bindAndOpen(sock, req, r.lastServerName, group, d, leftover); } finally { this.#loggingIn.delete(name); }
  }

  #bindAndOpen(sock: Socket, req: LoginRequestInfo, lastServer: string, group: number, d: { rspUserData?: Uint8Array; userData?: unknown }, leftover: Uint8Array): void {
    const o = this.o, mode = req.mode, name = req.clientName;
    const map = this.#bound[mode];
    let conn = map.get(name);
    if (conn && conn.group !== group) conn.group = group; // rebind to the new group (offline in the old one)
    let created = false;
    if (!conn) {
      const inGroup = [...map.values()].filter((c) => c.group === group);
      if (inGroup.length >= this.#perGroup[mode]) {
        const offline = inGroup.filter((c) => !c.isOpen).sort((a, b) => a.offlineSince - b.offlineSince);
        if (this.#slotPolicy === 'reference' || offline.length === 0) { this.#reject(sock, TCPSHM_REJECT_TEXT.maxClients, name); return; }
        const victim = offline[0]!;
        map.delete(victim.remoteName); this.#all = undefined;
        victim.closeReason = new TcpshmError('ERR_TCPSHM_EVICTED', 'offline slot released for another name', { reasonText: 'Release' });
        this.#m.evictions++;
        victim.dispose();
      }
      try {
        if (mode === 'tcp') {
          const store = FileStore.open(join(o.ptcpDir, `${this.name}_${name}.ptcp`), o.tcpQueueSize + 20,
            { mode: o.fileMode, lock: true, role: 'ptcp', durable: o.durability !== 'none' });
          conn = new TcpshmConnection({ options: o, owner: this, role: 'server', mode, remoteName: name, group, store, point: testPoint });
          created = store.created;
          try { conn.queue!.open(); } catch (e) {
            if (isTcpshmError(e, 'ERR_TCPSHM_PTCP_CORRUPT') && lastServer !== this.name) { conn.queue!.zero(); conn.queue!.open(); }
            else { conn.dispose(); throw e; }
          }
        } else {
          const rings = openPairRings(o, this.name, name, testPoint);
          conn = new TcpshmConnection({ options: o, owner: this, role: 'server', mode, remoteName: name, group, producer: rings.producer, consumer: rings.consumer, point: testPoint });
          created = rings.created;
        }
      } catch (e) {
        const err = isTcpshmError(e) ? e : new TcpshmError('ERR_TCPSHM_FILE', String(e), { cause: e });
        this.emit('fileError', undefined, err);
        this.#reject(sock, TCPSHM_REJECT_TEXT.systemError, name); return;
      }
      map.set(name, conn); this.#all = undefined;
    }
    conn.userData = d.userData;
    let nums = { ack: 0, start: 0, end: 0 };
    let clientAck = req.clientAck;
    if (lastServer !== this.name) {
      let discarded = 0;
      if (mode === 'tcp') { discarded = conn.queue!.queued; conn.queue!.zero(); }
      else { discarded = conn.producer!.pendingBytes() > 0 || conn.consumer!.pendingBytes() > 0 ? 1 : 0; conn.producer!.zero(); conn.consumer!.resync(); conn.producer!.resync(); }
      clientAck = 0;
      if (discarded > 0) this.emit('pairReset', conn, { discardedMessages: discarded, reason: 'renamed' });
    } else {
      if (mode === 'tcp') { const q = conn.queue!; nums = { ack: q.A, start: q.RS, end: q.seqEnd }; }
      else {
        try { conn.consumer!.validate(); conn.producer!.validate(); conn.consumer!.resync(); conn.producer!.resync(); } catch (e) {
          this.emit('fileError', conn, e as TcpshmError);
          this.#reject(sock, TCPSHM_REJECT_TEXT.systemError, name); return;
        }
      }
      if (created) this.emit('stateLost', conn, { mode });
    }
    if (mode === 'tcp') {
      const cs = lastServer !== this.name ? 0 : req.clientSeqStart, ce = lastServer !== this.name ? 0 : req.clientSeqEnd;
      if (!inRange(clientAck, nums.start, nums.end) || !inRange(nums.ack, cs, ce)) {
        const info: SeqMismatchInfo = { local: nums, remote: { ack: clientAck, start: cs, end: ce }, clientName: name, serverName: this.name };
        this.#m.seqMismatches++;
        this.emit('seqMismatch', conn, info);
        sock.end(this.#respond(sock, 1, '', nums));
        return;
      }
      if (o.durability !== 'none') conn.queue!.syncIndex();
    }
    sock.write(this.#respond(sock, 0, '', nums, d.rspUserData));
    const err = conn.attach(sock, leftover, clientAck);
    if (err) { this.error(err); sock.destroy(); return; }
    if (mode === 'shm') {
      this.driver.add(conn);
      // No CHECK_REQ within the check timeout: a reference client; the driver spins for this link.
      const c = conn;
      const t = setTimeout(() => { if (c.isOpen && c.peerKind === 'unknown') c.peerKind = 'reference'; }, TCPSHM_DEFAULTS.shmCheckTimeoutMs);
      t.unref();
    }
    this.emit('logon', conn, req);
  }

  connection(clientName: string, mode?: Mode): TcpshmConnection | undefined {
    if (mode) return this.#bound[mode].get(clientName);
    return this.#bound.tcp.get(clientName) ?? this.#bound.shm.get(clientName);
  }
  *liveConnections(): IterableIterator<TcpshmConnection> {
    for (const m of [this.#bound.tcp, this.#bound.shm]) for (const c of m.values()) if (c.isOpen) yield c;
  }
  *boundConnections(): IterableIterator<TcpshmConnection> {
    for (const m of [this.#bound.tcp, this.#bound.shm]) yield* m.values();
  }
  /** Every bound connection (TCP then SHM) as an array, rebuilt only when a binding changes: poll() is a hot path. */
  #all: TcpshmConnection[] | undefined;
  poll(group?: number, maxPerConnection = Infinity): number {
    const all = (this.#all ??= [...this.#bound.tcp.values(), ...this.#bound.shm.values()]);
    let n = 0;
    for (let i = 0; i < all.length; i++) {
      const c = all[i]!;
      if (c.isOpen && (group === undefined || c.group === group)) n += c.deliver(maxPerConnection);
    }
    return n;
  }
  metrics(): TcpshmServerMetrics {
    const connections: Record<string, ConnectionStats> = {};
    for (const c of this.boundConnections()) connections[`${c.mode}:${c.remoteName}`] = c.stats();
    return { accepted: this.#m.accepted, pendingLogins: this.#pending.size, pendingOverflow: this.#m.pendingOverflow,
      loginTimeouts: this.#m.loginTimeouts, badLogins: this.#m.badLogins, loginRejects: { ...this.#m.loginRejects },
      seqMismatches: this.#m.seqMismatches, liveConnections: [...this.liveConnections()].length,
      boundConnections: this.#bound.tcp.size + this.#bound.shm.size, evictions: this.#m.evictions, connections };
  }
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stopTick();
    const srv = this.#server;
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
    this.driver.stop();
    for (const m of [this.#bound.tcp, this.#bound.shm]) { for (const c of m.values()) c.dispose(); m.clear(); }
    this.#all = undefined;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    this.emit('close');
  }
  async [Symbol.asyncDispose](): Promise<void> { await this.close(); }
}

function defaultIsLocal(addr: string): boolean {
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  if (a === '127.0.0.1' || a === '::1' || a.startsWith('127.')) return true;
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.address === a) return true;
  return false;
}
