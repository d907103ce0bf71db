// Unix sockets, fd passing (SCM_RIGHTS) and peer credentials (shm-core.md §3.13, §5.18, §5.19).
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Socket as NetSocket } from 'node:net';
import { errnoToCode, isShmkitError, ShmkitError, syscallError } from './errors.js';
import { fstatFd, pollFd, watchFd, type FdWatcher } from './fd.js';
import { native } from './native.js';
import type { WaitOptions } from './wake.js';

/** Socket type of a {@link UnixSocket} or {@link UnixServer}. */
export type UnixSocketType = 'stream' | 'seqpacket' | 'dgram';
/** Identity of a process as the kernel reports it (in the reader's pid and user namespaces). */
export interface PeerCredentials { pid: number; uid: number; gid: number }
/** One received message (or, on a stream socket, the bytes one `recvmsg` returned). */
export interface RecvResult {
  /** Bytes written to the front of `into`. */
  bytes: number;
  /** Received fds, `O_CLOEXEC`, owned by the caller (close with `closeFd` or hand them on). */
  fds: number[];
  /** The peer closed its end (stream and seqpacket sockets: 0 bytes and no fds). */
  eof: boolean;
  /** `MSG_TRUNC` (seqpacket/dgram): the message was longer than `into`; the rest is lost. */
  truncated: boolean;
  /** `MSG_CTRUNC`: more fds were sent than `maxFds`; the extras were closed (never leaked). */
  fdsTruncated: boolean;
  /** The sending process, when `passCredentials` is on (kernel-verified, per message). */
  credentials?: PeerCredentials;
}
/** At most this many fds travel in one message. */
export const MAX_FDS_PER_MESSAGE = 16 as const;

const TYPES: Record<UnixSocketType, number> = { stream: 1, seqpacket: 2, dgram: 3 };
const ENOENT = 2, EAGAIN = 11, EPIPE = 32, EADDRINUSE = 98, ECONNABORTED = 103, ECONNRESET = 104,
  ENOTCONN = 107, ECONNREFUSED = 111;
const MAX_ADDRESS_BYTES = 107;

// Scratch arrays for the shim's out-parameters. Calls are synchronous and JS is single-threaded per
// isolate, so one set serves every socket and a message costs no allocation for them.
const fdScratch = new Int32Array(MAX_FDS_PER_MESSAGE);
const metaScratch = new Int32Array(6);
const credScratch = new Int32Array(3);
const EMPTY = new Uint8Array(0);

function invalid(message: string): ShmkitError { return new ShmkitError('ERR_INVALID_ARGUMENT', message); }

function checkType(type: unknown, what: string): UnixSocketType {
  if (type === undefined) return 'stream';
  if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) throw invalid(`${what}: type must be 'stream', 'seqpacket' or 'dgram', got ${String(type)}`);
  return type as UnixSocketType;
}

function checkFd(fd: unknown, what: string): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw invalid(`${what}: fd must be a non-negative integer, got ${String(fd)}`);
  return fd;
}

/** Address bytes for the shim: a path, or `'\0name'` for the abstract namespace. */
function encodeAddress(address: unknown, what: string): Buffer {
  if (typeof address !== 'string' || address.length === 0 || address === '\0') {
    throw new ShmkitError('ERR_INVALID_NAME', `${what}: address must be a path or '\\0name', got ${JSON.stringify(address)}`, { details: { address, reason: 'empty' } });
  }
  if (address.indexOf('\0', 1) !== -1) {
    throw new ShmkitError('ERR_INVALID_NAME', `${what}: NUL byte inside address ${JSON.stringify(address)}`, { details: { address, reason: 'nul' } });
  }
  const bytes = Buffer.from(address, 'utf8');
  if (bytes.length > MAX_ADDRESS_BYTES) {
    throw new ShmkitError('ERR_INVALID_NAME', `${what}: address of ${bytes.length} bytes exceeds ${MAX_ADDRESS_BYTES}`, { details: { address, reason: 'too-long' } });
  }
  return bytes;
}
const isAbstract = (address: string) => address.startsWith('\0');
const printable = (address: string) => (isAbstract(address) ? `@${address.slice(1)}` : address);

function closedError(reason: string, what: string, errno?: number): ShmkitError {
  return new ShmkitError('ERR_CONNECTION_CLOSED', `${what}: connection closed (${reason})`,
    { details: { reason }, ...(errno === undefined ? {} : { errno, syscall: reason === 'reset' ? 'recvmsg' : 'sendmsg' }) });
}

function sendOn(fd: number, data: Uint8Array, fds: readonly number[] | undefined, what: string): number {
  if (!(data instanceof Uint8Array)) throw invalid(`${what}: data must be a Uint8Array`);
  const n = fds === undefined ? 0 : fds.length;
  if (n > MAX_FDS_PER_MESSAGE) throw invalid(`${what}: ${n} fds exceed ${MAX_FDS_PER_MESSAGE} per message`);
  if (n > 0 && data.byteLength === 0) throw invalid(`${what}: fds need at least one data byte`);
  for (let i = 0; i < n; i++) fdScratch[i] = checkFd(fds![i], what);
  const r = native().sendFds(fd, data, data.byteLength, fdScratch, n);
  if (r >= 0) return r;
  if (r === -EAGAIN) return 0;
  if (r === -EPIPE) throw closedError('peer-closed', what, EPIPE);
  if (r === -ECONNRESET) throw closedError('reset', what, ECONNRESET);
  if (r === -ENOTCONN) throw closedError('not-connected', what, ENOTCONN);
  throw syscallError(r, 'sendmsg', what);
}

function recvOn(fd: number, into: Uint8Array, maxFds: number, eofOnZero: boolean, what: string): RecvResult | undefined {
  if (!(into instanceof Uint8Array) || into.byteLength === 0) throw invalid(`${what}: into must be a non-empty Uint8Array`);
  if (!Number.isInteger(maxFds) || maxFds < 0 || maxFds > MAX_FDS_PER_MESSAGE) throw invalid(`${what}: maxFds must be an integer in [0, ${MAX_FDS_PER_MESSAGE}], got ${maxFds}`);
  const r = native().recvFds(fd, into, into.byteLength, fdScratch, maxFds, metaScratch);
  if (r === -EAGAIN) return undefined;
  if (r === -ECONNRESET) throw closedError('reset', what, ECONNRESET);
  if (r < 0) throw syscallError(r, 'recvmsg', what);
  const nfds = metaScratch[0]!, flags = metaScratch[1]!;
  const fds: number[] = [];
  for (let i = 0; i < nfds; i++) fds.push(fdScratch[i]!);
  const eof = eofOnZero && r === 0 && nfds === 0;
  const result: RecvResult = { bytes: r, fds, eof, truncated: (flags & 2) !== 0, fdsTruncated: (flags & 1) !== 0 };
  // At EOF the kernel reports empty credentials (pid 0); they name nobody.
  if (metaScratch[2] === 1 && !eof) result.credentials = { pid: metaScratch[3]!, uid: metaScratch[4]! >>> 0, gid: metaScratch[5]! >>> 0 };
  return result;
}

function peerCredOf(fd: number, what: string): PeerCredentials {
  const r = native().peercred(fd, credScratch);
  if (r < 0) throw syscallError(r, 'getsockopt(SO_PEERCRED)', what);
  return { pid: credScratch[0]!, uid: credScratch[1]! >>> 0, gid: credScratch[2]! >>> 0 };
}

function setPassCred(fd: number, what: string): void {
  const r = native().setPasscred(fd, 1);
  if (r < 0) throw syscallError(r, 'setsockopt(SO_PASSCRED)', what);
}

function newSocketFd(type: UnixSocketType, what: string): number {
  const fd = native().unixSocket(TYPES[type]);
  if (fd < 0) throw syscallError(fd, 'socket', what);
  return fd;
}

function abortError(signal: AbortSignal | undefined, what: string): ShmkitError {
  return new ShmkitError('ERR_ABORTED', `${what}: aborted`, { cause: signal?.reason });
}

function checkWaitOptions(opts: WaitOptions, what: string): void {
  if (opts.timeoutMs !== undefined && (typeof opts.timeoutMs !== 'number' || !(opts.timeoutMs >= 0))) {
    throw invalid(`${what}: timeoutMs must be >= 0, got ${String(opts.timeoutMs)}`);
  }
}

type Direction = 'readable' | 'writable';
interface PendingWait { settle(error?: ShmkitError): void }

/** Readiness waits of one fd through one poll handle, started only while someone waits (§5.18). */
class Readiness {
  readonly #fd: number;
  readonly #what: string;

  #watcher: FdWatcher | undefined;
  readonly #pending: { readable: PendingWait | undefined; writable: PendingWait | undefined } = { readable: undefined, writable: undefined };

  /** `owner`, the socket or server, stays reachable while a wait is pending (the started poll handle is
   *  strongly held and its callback holds this Readiness), so the leak net never closes an fd being waited on. */
  constructor(fd: number, what: string, readonly owner: object) { this.#fd = fd; this.#what = what; }

  wait(dir: Direction, opts: WaitOptions = {}): Promise<void> {
    const what = `${this.#what}.${dir}()`;
    try { checkWaitOptions(opts, what); } catch (e) { return Promise.reject(e); }
    if (this.#pending[dir]) return Promise.reject(new ShmkitError('ERR_BUSY', `${what}: a wait is already pending`));
    const { signal, timeoutMs } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal, what));
    // Level-triggered readiness: if it is there now, no handle and no loop turn are needed.
    try {
      if (pollFd(this.#fd, dir === 'readable' ? 'read' : 'write', 0)) return Promise.resolve();
    } catch (e) { return Promise.reject(e); }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => pending.settle(abortError(signal, what));
      const timer = timeoutMs === undefined ? undefined
        : setTimeout(() => pending.settle(new ShmkitError('ERR_TIMEOUT', `${what}: not ready within ${timeoutMs} ms`)), timeoutMs);
      const pending: PendingWait = {
        settle: (error) => {
          if (this.#pending[dir] !== pending) return;
          this.#pending[dir] = undefined;
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#arm();
          if (error) reject(error); else resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending[dir] = pending;
      try { this.#arm(); } catch (e) { pending.settle(e as ShmkitError); }
    });
  }

  #arm(): void {
    const readable = this.#pending.readable !== undefined, writable = this.#pending.writable !== undefined;
    if (!readable && !writable) { this.#watcher?.stop(); return; }
    this.#watcher ??= watchFd(this.#fd);
    this.#watcher.start({ readable, writable }, (ev) => {
      // An fd error (POLLERR) wakes every waiter: the caller's next recv/send/accept reports it.
      if (ev.error || ev.readable) this.#pending.readable?.settle();
      if (ev.error || ev.writable) this.#pending.writable?.settle();
    });
  }

  /** Stops watching for good; pending waits reject with `error`. */
  close(error: ShmkitError): void {
    this.#pending.readable?.settle(error);
    this.#pending.writable?.settle(error);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}

function delay(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => { clearTimeout(t); reject(abortError(signal, what)); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Leak net (ARCHITECTURE §6), like Segment's and NodeLock's: a UnixSocket owning its fd, or a UnixServer,
 *  collected without close() warns (`SHMKIT_LEAK`) and closes the fd; a server also unlinks the path socket
 *  file it created (if the path still is that socket). close() and release() unregister. */
interface LeakHeld { fd: number; label: string; path?: string; ino?: number }
const socketLeaks = new FinalizationRegistry<LeakHeld>((held) => {
  process.emitWarning(`shmkit ${held.label} was not closed`, { code: 'SHMKIT_LEAK' });
  native().close(held.fd);
  if (held.path !== undefined) {
    try { if (lstatSync(held.path).ino === held.ino) unlinkSync(held.path); } catch { /* already gone */ }
  }
});

/** Wraps an fd this module created (accept); set by UnixSocket's static block. */
let adoptSocket: (fd: number, owned: boolean, type: UnixSocketType | undefined) => UnixSocket;

/** A non-blocking Unix socket that can pass fds (`SCM_RIGHTS`) and report who is on the other end.
 *
 * Sends and receives are synchronous and never block; `readable()` / `writable()` wait through the
 * libuv event loop (one poll handle per socket, active only while someone waits). Readiness is
 * level-triggered: read until `recv()` returns `undefined` before waiting again.
 *
 * @example
 * ```ts
 * const [a, b] = UnixSocket.pair();
 * a.send(new Uint8Array([1]), [someFd]);
 * await b.readable();
 * const r = b.recv(new Uint8Array(16))!; // r.fds[0] is a new fd for the same open file
 * ```
 */
export class UnixSocket implements Disposable {
  #fd: number;
  readonly #owned: boolean;
  /** Whether a 0-byte read means EOF (false only for sockets known to be datagram sockets). */
  readonly #eofOnZero: boolean;
  readonly #ready: Readiness;
  #closed = false;

  static {
    adoptSocket = (fd, owned, type) => new UnixSocket(fd, owned, type);
  }

  private constructor(fd: number, owned: boolean, type: UnixSocketType | undefined) {
    this.#fd = fd; this.#owned = owned; this.#eofOnZero = type !== 'dgram';
    this.#ready = new Readiness(fd, 'UnixSocket', this);
    if (owned) socketLeaks.register(this, { fd, label: `UnixSocket (fd ${fd})` }, this);
  }

  /** Connects to `address`: a filesystem path, or `'\0name'` for the abstract namespace.
   *  Rejects `ERR_SERVER_NOT_RUNNING` if nobody listens there, `ERR_INVALID_NAME` for an address above
   *  107 bytes. A full listen backlog (`EAGAIN`) is retried with a short back-off until it clears or
   *  `signal` aborts (`ERR_ABORTED`): Linux offers no readiness event for a backlog slot.
   *  `passCredentials` turns on `SO_PASSCRED`, so every received message carries its sender. */
  static async connect(address: string, opts: { type?: UnixSocketType; passCredentials?: boolean; signal?: AbortSignal } = {}): Promise<UnixSocket> {
    const what = `UnixSocket.connect(${typeof address === 'string' ? printable(address) : String(address)})`;
    const type = checkType(opts.type, what);
    const addr = encodeAddress(address, what);
    if (opts.signal?.aborted) throw abortError(opts.signal, what);
    const n = native();
    const fd = newSocketFd(type, what);
    try {
      if (opts.passCredentials) setPassCred(fd, what);
      // Deliberate deviation from §5.18 ("wait for writability"), GAPS F10a: a Unix socket whose connect()
      // failed with EAGAIN is not connected, and Linux gives it no readiness event when the listener's
      // backlog frees a slot (poll reports it writable and hung up at once), so a writability wait would spin. A
      // bounded exponential back-off (1 → 50 ms) until `signal` aborts costs at most 50 ms of latency.
      for (let backoff = 1; ; backoff = Math.min(backoff * 2, 50)) {
        const r = n.unixConnect(fd, addr, addr.length);
        if (r === 0) break;
        if (r === -EAGAIN) { await delay(backoff, opts.signal, what); continue; }
        if (r === -ECONNREFUSED || r === -ENOENT) {
          throw new ShmkitError('ERR_SERVER_NOT_RUNNING', `${what}: nobody listens on this address`, { errno: -r, syscall: 'connect', details: { address } });
        }
        throw syscallError(r, 'connect', what);
      }
    } catch (e) { n.close(fd); throw e; }
    return new UnixSocket(fd, true, type);
  }

  /** Two connected sockets (`socketpair`). `SO_PEERCRED` of either end names this process, also after
   *  one end was passed to another process; use `passCredentials` to learn the real sender per message. */
  static pair(opts: { type?: UnixSocketType; passCredentials?: boolean } = {}): [UnixSocket, UnixSocket] {
    const type = checkType(opts.type, 'UnixSocket.pair');
    const n = native();
    const out = new Int32Array(2);
    const r = n.socketpair(TYPES[type], out);
    if (r < 0) throw syscallError(r, 'socketpair', 'UnixSocket.pair');
    try {
      if (opts.passCredentials) { setPassCred(out[0]!, 'UnixSocket.pair'); setPassCred(out[1]!, 'UnixSocket.pair'); }
    } catch (e) { n.close(out[0]!); n.close(out[1]!); throw e; }
    return [new UnixSocket(out[0]!, true, type), new UnixSocket(out[1]!, true, type)];
  }

  /** Wraps an existing Unix socket fd (e.g. one received with {@link recvFds}). With `takeOwnership`
   *  (default true) `close()` closes the fd; otherwise the caller keeps owning it. `ERR_INVALID_ARGUMENT`
   *  if `fd` is not a socket. The socket type is not probed: a 0-byte read is reported as EOF. */
  static fromFd(fd: number, opts: { takeOwnership?: boolean; passCredentials?: boolean } = {}): UnixSocket {
    checkFd(fd, 'UnixSocket.fromFd');
    if (!fstatFd(fd).isSocket) throw invalid(`UnixSocket.fromFd: fd ${fd} is not a socket`);
    if (opts.passCredentials) setPassCred(fd, 'UnixSocket.fromFd');
    return new UnixSocket(fd, opts.takeOwnership !== false, undefined);
  }

  /** The socket's fd (-1 after close or release). */
  get fd(): number { return this.#fd; }

  #open(what: string): number {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', `UnixSocket.${what}: socket closed`);
    return this.#fd;
  }

  /** Sends one message with up to 16 fds (which stay open here; the peer gets its own copies).
   *  Returns the bytes sent: 0 = would block (wait for `writable()`); on a stream socket it may be
   *  fewer than given (the fds went with the first byte; send the rest without them).
   *  An array of chunks is concatenated into one message first (a copy; keep large data in shm).
   *  `ERR_INVALID_ARGUMENT` for more than 16 fds or fds with empty data; `ERR_CONNECTION_CLOSED` on
   *  `EPIPE`/`ECONNRESET`; `ERR_SYSCALL` (`EBADF`) for a closed fd in `fds`. */
  send(data: Uint8Array | readonly Uint8Array[], fds?: readonly number[]): number {
    const fd = this.#open('send');
    const bytes = Array.isArray(data) ? (data.length === 0 ? EMPTY : Buffer.concat(data as readonly Uint8Array[])) : data as Uint8Array;
    return sendOn(fd, bytes, fds, 'UnixSocket.send');
  }

  /** Receives one message into `into` (non-empty), taking up to `maxFds` (default 16) passed fds.
   *  `undefined` = nothing to read now (wait for `readable()`). Received fds are `O_CLOEXEC` and owned
   *  by the caller. `ERR_CONNECTION_CLOSED` on a reset connection. */
  recv(into: Uint8Array, maxFds: number = MAX_FDS_PER_MESSAGE): RecvResult | undefined {
    return recvOn(this.#open('recv'), into, maxFds, this.#eofOnZero, 'UnixSocket.recv');
  }

  /** Resolves when a `recv()` would not block (data, fds, EOF or an error is pending). Rejects
   *  `ERR_TIMEOUT` after `timeoutMs`, `ERR_ABORTED` when `signal` fires, `ERR_CLOSED` if the socket
   *  is closed meanwhile, `ERR_BUSY` if another `readable()` is pending. Never blocks the loop. */
  readable(opts?: WaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ShmkitError('ERR_CLOSED', 'UnixSocket.readable: socket closed'));
    return this.#ready.wait('readable', opts);
  }

  /** Resolves when a `send()` would not block (or would fail at once); rejections as `readable()`. */
  writable(opts?: WaitOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new ShmkitError('ERR_CLOSED', 'UnixSocket.writable: socket closed'));
    return this.#ready.wait('writable', opts);
  }

  /** `SO_PEERCRED`: the process that `connect()`ed / `accept()`ed, or that created the pair. */
  peerCredentials(): PeerCredentials {
    return peerCredOf(this.#open('peerCredentials'), 'UnixSocket.peerCredentials');
  }

  /** `shutdown(2)`: after `'write'` the peer reads EOF; after `'read'` this end reads EOF. */
  shutdown(how: 'read' | 'write' | 'both'): void {
    const fd = this.#open('shutdown');
    const h = how === 'read' ? 0 : how === 'write' ? 1 : how === 'both' ? 2 : -1;
    if (h < 0) throw invalid(`UnixSocket.shutdown: how must be 'read', 'write' or 'both', got ${String(how)}`);
    const r = native().shutdown(fd, h);
    if (r === -ENOTCONN) throw closedError('not-connected', 'UnixSocket.shutdown');
    if (r < 0) throw syscallError(r, 'shutdown', 'UnixSocket.shutdown');
  }

  /** Stops watching and returns the fd without closing it; the handle is closed and the caller owns
   *  the fd (e.g. `new net.Socket({ fd })` for a data phase that passes no more fds). */
  release(): number {
    const fd = this.#open('release');
    this.#closed = true;
    socketLeaks.unregister(this);
    this.#ready.close(new ShmkitError('ERR_CLOSED', 'UnixSocket released while waiting'));
    this.#fd = -1;
    return fd;
  }

  /** Rejects pending waits with `ERR_CLOSED`, stops watching and closes the fd (if owned). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    socketLeaks.unregister(this);
    this.#ready.close(new ShmkitError('ERR_CLOSED', 'UnixSocket closed while waiting'));
    if (this.#owned) native().close(this.#fd);
    this.#fd = -1;
  }
  [Symbol.dispose](): void { this.close(); }
}

/** A listening Unix socket (`stream` or `seqpacket`) on a path or an abstract name.
 *
 * @example
 * ```ts
 * using server = UnixServer.listen('\0shmkit.flow-session.app');
 * for await (const conn of server) { console.log(conn.peerCredentials().pid); conn.close(); }
 * ```
 */
export class UnixServer implements Disposable, AsyncIterable<UnixSocket> {
  /** The address as given to `listen`. */
  readonly address: string;
  #fd: number;
  readonly #type: UnixSocketType;
  readonly #passCredentials: boolean;
  /** Inode of the socket file this server created (path addresses), so close() never unlinks a successor. */
  readonly #ino: number | undefined;
  readonly #ready: Readiness;
  #closed = false;

  private constructor(address: string, fd: number, type: UnixSocketType, passCredentials: boolean, ino: number | undefined) {
    this.address = address; this.#fd = fd; this.#type = type; this.#passCredentials = passCredentials; this.#ino = ino;
    this.#ready = new Readiness(fd, 'UnixServer', this);
    socketLeaks.register(this, { fd, label: `UnixServer ${printable(address)}`, ...(ino === undefined ? {} : { path: address, ino }) }, this);
  }

  /** Binds and listens. `ERR_ADDRESS_IN_USE` if a live listener owns the address; a stale socket file
   *  at a path (nobody listening) is replaced unless `replaceStale` is false. `ERR_INVALID_NAME` for an
   *  address above 107 bytes. A path socket gets `mode` (default 0o600) before it accepts anyone.
   *  Accepted sockets inherit `passCredentials`. */
  static listen(address: string, opts: { type?: UnixSocketType; backlog?: number; mode?: number; replaceStale?: boolean; passCredentials?: boolean } = {}): UnixServer {
    const what = `UnixServer.listen(${typeof address === 'string' ? printable(address) : String(address)})`;
    const type = checkType(opts.type, what);
    if (type === 'dgram') throw invalid(`${what}: dgram sockets do not listen; bind a UnixSocket pair or use seqpacket`);
    const backlog = opts.backlog ?? 64;
    if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535) throw invalid(`${what}: backlog must be an integer in [1, 65535], got ${backlog}`);
    const mode = opts.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || (mode & ~0o777) !== 0) throw invalid(`${what}: mode must be within 0o777, got ${String(mode)}`);
    const addr = encodeAddress(address, what);
    const abstract = isAbstract(address);
    const n = native();
    const fd = newSocketFd(type, what);
    let bound = false;
    try {
      let r = n.unixBind(fd, addr, addr.length);
      if (r === -EADDRINUSE && !abstract && UnixServer.#isStale(address, addr, type)) {
        if (opts.replaceStale === false) {
          throw new ShmkitError('ERR_ADDRESS_IN_USE', `${what}: a stale socket file is in the way (replaceStale: false)`, { errno: EADDRINUSE, syscall: 'bind', details: { address, stale: true } });
        }
        try { unlinkSync(address); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
        r = n.unixBind(fd, addr, addr.length);
      }
      if (r === -EADDRINUSE) {
        throw new ShmkitError('ERR_ADDRESS_IN_USE', `${what}: a live listener owns this address`, { errno: EADDRINUSE, syscall: 'bind', details: { address, stale: false } });
      }
      if (r < 0) throw syscallError(r, 'bind', what);
      bound = true;
      let ino: number | undefined;
      if (!abstract) { chmodSync(address, mode); ino = lstatSync(address).ino; }
      if (opts.passCredentials) setPassCred(fd, what);
      r = n.listen(fd, backlog);
      if (r < 0) throw syscallError(r, 'listen', what);
      return new UnixServer(address, fd, type, opts.passCredentials === true, ino);
    } catch (e) {
      n.close(fd);
      if (bound && !abstract) { try { unlinkSync(address); } catch { /* already gone */ } }
      if (e instanceof ShmkitError) throw e;
      const err = e as NodeJS.ErrnoException; // node:fs (chmod/lstat of the socket path)
      const errno = err.errno === undefined ? undefined : Math.abs(err.errno);
      throw new ShmkitError(errno === undefined ? 'ERR_SYSCALL' : errnoToCode(errno), `${what}: ${err.message}`,
        { cause: e, ...(errno === undefined ? {} : { errno }), ...(err.syscall ? { syscall: err.syscall } : {}) });
    }
  }

  /** A path is stale if it is a socket file and connecting to it is refused (nobody listens). */
  static #isStale(path: string, addr: Uint8Array, type: UnixSocketType): boolean {
    try { if (!lstatSync(path).isSocket()) return false; } catch { return false; }
    const n = native();
    const probe = n.unixSocket(TYPES[type]);
    if (probe < 0) return false;
    const r = n.unixConnect(probe, addr, addr.length);
    n.close(probe);
    return r === -ECONNREFUSED;
  }

  /** One pending connection, or `undefined` if none is waiting. */
  accept(): UnixSocket | undefined {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', 'UnixServer.accept: server closed');
    const n = native();
    for (;;) {
      const fd = n.accept(this.#fd);
      if (fd === -EAGAIN) return undefined;
      if (fd === -ECONNABORTED) continue; // the client gave up before we got to it
      if (fd < 0) throw syscallError(fd, 'accept4', `UnixServer.accept(${printable(this.address)})`);
      if (this.#passCredentials) {
        try { setPassCred(fd, 'UnixServer.accept'); } catch (e) { n.close(fd); throw e; }
      }
      return adoptSocket(fd, true, this.#type);
    }
  }

  /** Resolves with the next connection; rejects `ERR_TIMEOUT`, `ERR_ABORTED`, `ERR_CLOSED` (server
   *  closed meanwhile) or `ERR_BUSY` (another `accepted()` pending). Never blocks the loop. */
  async accepted(opts: WaitOptions = {}): Promise<UnixSocket> {
    checkWaitOptions(opts, 'UnixServer.accepted');
    const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
    for (;;) {
      const s = this.accept();
      if (s) return s;
      const timeoutMs = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      await this.#ready.wait('readable', { ...(opts.signal ? { signal: opts.signal } : {}), ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    }
  }

  /** Yields connections until the server is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<UnixSocket, void, undefined> {
    while (!this.#closed) {
      try { yield await this.accepted(); } catch (e) { if (isShmkitError(e, 'ERR_CLOSED')) return; throw e; }
    }
  }

  /** Stops listening; unlinks a path address it created (if the path still is that socket). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    socketLeaks.unregister(this);
    this.#ready.close(new ShmkitError('ERR_CLOSED', 'UnixServer closed while waiting'));
    native().close(this.#fd);
    this.#fd = -1;
    if (this.#ino !== undefined) {
      try { if (lstatSync(this.address).ino === this.#ino) unlinkSync(this.address); } catch { /* already gone */ }
    }
  }
  [Symbol.dispose](): void { this.close(); }
}

/** Low-level send on any Unix socket fd owned by the caller: one message with up to 16 fds.
 *  Same results and errors as {@link UnixSocket.send}. */
export function sendFds(fd: number, data: Uint8Array, fds: readonly number[]): number {
  return sendOn(checkFd(fd, 'sendFds'), data, fds, 'sendFds');
}

/** Low-level receive on any Unix socket fd owned by the caller; same as {@link UnixSocket.recv}
 *  (a 0-byte read is reported as EOF). */
export function recvFds(fd: number, into: Uint8Array, maxFds: number = MAX_FDS_PER_MESSAGE): RecvResult | undefined {
  return recvOn(checkFd(fd, 'recvFds'), into, maxFds, true, 'recvFds');
}

/** `SO_PEERCRED` of a raw fd or of a connected `node:net` Socket over a Unix socket (read from its
 *  handle without disturbing libuv). `ERR_INVALID_ARGUMENT` if the Socket has no fd. */
export function peerCredentials(socket: number | NetSocket): PeerCredentials {
  if (typeof socket === 'number') return peerCredOf(checkFd(socket, 'peerCredentials'), 'peerCredentials');
  const fd = (socket as unknown as { _handle?: { fd?: unknown } } | null)?._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw invalid('peerCredentials: the socket has no fd (not connected, or not a Unix/TCP socket)');
  return peerCredOf(fd, 'peerCredentials');
}
