// fd utilities (shm-core.md §3.16): libuv readiness of any fd, poll(2), dup/close/fstat, TCP peer uid.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ShmkitError, syscallError } from './errors.js';
import { native, openPollHandle, type RawPollHandle } from './native.js';

/** What an {@link FdWatcher} callback receives. `error` is set when libuv reports a failure on the fd
 *  (POLLERR, e.g. a reset socket); the watcher is then stopped and must be started again to fire again. */
export interface FdEvent { readable: boolean; writable: boolean; error?: ShmkitError }

/** libuv readiness of any fd through one koffi poll handle (kept strongly referenced while started).
 *  Level-triggered: the callback fires on every loop turn while the fd stays ready, so consume (read,
 *  accept, drain) until `EAGAIN` or `stop()` inside the callback. */
export interface FdWatcher extends Disposable {
  /** Starts (or re-arms with new events and callback) watching. A hang-up counts as readable. */
  start(events: { readable?: boolean; writable?: boolean }, cb: (ev: FdEvent) => void): void;
  /** Stops watching; the handle stays reusable. */
  stop(): void;
  /** While started, keep the event loop alive (default). */
  ref(): this;
  /** While started, do not keep the event loop alive. */
  unref(): this;
  /** Stops and frees the poll handle. Does not close the fd. */
  close(): void;
}

/** Started watchers: reachable from here so the GC never closes a handle someone waits on. */
const started = new Set<FdWatcher>();

class PollWatcher implements FdWatcher {
  readonly #fd: number;
  #handle: RawPollHandle | undefined;
  #cb: ((ev: FdEvent) => void) | undefined;
  #active = false;
  #refd = true;
  #closed = false;

  constructor(fd: number) { this.#fd = fd; }

  start(events: { readable?: boolean; writable?: boolean }, cb: (ev: FdEvent) => void): void {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', `FdWatcher for fd ${this.#fd} closed`);
    const ev = { readable: events.readable === true, writable: events.writable === true };
    if (!ev.readable && !ev.writable) throw new ShmkitError('ERR_INVALID_ARGUMENT', 'FdWatcher.start: watch readable, writable or both');
    if (typeof cb !== 'function') throw new ShmkitError('ERR_INVALID_ARGUMENT', 'FdWatcher.start: callback must be a function');
    this.#cb = cb;
    const onPoll = (status: number, e: { readable: boolean; writable: boolean; disconnect: boolean }) => {
      const c = this.#cb;
      if (!c || !this.#active) return;
      if (status < 0) {
        // libuv has stopped the handle itself.
        this.#active = false; started.delete(this);
        c({ readable: false, writable: false, error: syscallError(status, 'poll', `fd ${this.#fd}`) });
        return;
      }
      c({ readable: e.readable || e.disconnect, writable: e.writable });
    };
    if (this.#handle) this.#handle.start(ev, onPoll);
    else this.#handle = openPollHandle(this.#fd, ev, onPoll);
    if (!this.#refd) this.#handle.unref();
    this.#active = true;
    started.add(this);
  }
  stop(): void {
    if (this.#active) this.#handle?.stop();
    this.#active = false;
    started.delete(this);
  }
  ref(): this { this.#refd = true; this.#handle?.ref(); return this; }
  unref(): this { this.#refd = false; this.#handle?.unref(); return this; }
  close(): void {
    if (this.#closed) return;
    this.stop();
    this.#closed = true;
    this.#handle?.close();
    this.#handle = undefined;
    this.#cb = undefined;
  }
  [Symbol.dispose](): void { this.close(); }
}

function checkFd(fd: number, what: string): void {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new ShmkitError('ERR_INVALID_ARGUMENT', `${what}: fd must be a non-negative integer, got ${String(fd)}`);
}

/** A watcher of `fd`'s readiness through the libuv event loop (no thread, no CPU while idle).
 *  At most one watcher per fd at a time (a libuv rule); close it before closing the fd. */
export function watchFd(fd: number): FdWatcher {
  checkFd(fd, 'watchFd');
  return new PollWatcher(fd);
}

const POLLIN = 1, POLLOUT = 4, POLLNVAL = 0x20;

/** Synchronous poll(2) of one fd; true if ready (or in error / hung up) within `timeoutMs` (0 = just check).
 *  Blocks the thread for up to `timeoutMs`: on the main thread use 0 or a watcher. */
export function pollFd(fd: number, events: 'read' | 'write', timeoutMs: number): boolean {
  checkFd(fd, 'pollFd');
  if (events !== 'read' && events !== 'write') throw new ShmkitError('ERR_INVALID_ARGUMENT', `pollFd: events must be 'read' or 'write'`);
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw new ShmkitError('ERR_INVALID_ARGUMENT', `pollFd: timeoutMs must be >= 0, got ${String(timeoutMs)}`);
  const r = native().poll1(fd, events === 'read' ? POLLIN : POLLOUT, Math.min(Math.ceil(timeoutMs), 0x7fffffff));
  if (r < 0) throw syscallError(r, 'poll', `pollFd(${fd})`);
  if (r & POLLNVAL) throw new ShmkitError('ERR_SYSCALL', `pollFd(${fd}): not an open fd (EBADF)`, { errno: 9, syscall: 'poll' });
  return r !== 0;
}

/** A new fd for the same open file description (`F_DUPFD_CLOEXEC`); the caller owns it. */
export function dupFd(fd: number): number {
  checkFd(fd, 'dupFd');
  const r = native().dup(fd);
  if (r < 0) throw syscallError(r, 'fcntl(F_DUPFD_CLOEXEC)', `dupFd(${fd})`);
  return r;
}

/** Closes an fd owned by the caller (e.g. one received by {@link recvFds}); `ERR_SYSCALL` (EBADF) if not open. */
export function closeFd(fd: number): void {
  checkFd(fd, 'closeFd');
  const r = native().close(fd);
  if (r < 0) throw syscallError(r, 'close', `closeFd(${fd})`);
}

const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFIFO = 0o010000, S_IFSOCK = 0o140000;

/** `fstat(2)` of an fd: size, inode, full `st_mode`, owner and the file type. */
export function fstatFd(fd: number): { size: number; ino: number; mode: number; uid: number; isFile: boolean; isFifo: boolean; isSocket: boolean } {
  checkFd(fd, 'fstatFd');
  const out = new BigInt64Array(6);
  const r = native().fstat(fd, out);
  if (r < 0) throw syscallError(r, 'fstat', `fstatFd(${fd})`);
  const mode = Number(out[3]);
  const type = mode & S_IFMT;
  return { size: Number(out[0]), ino: Number(out[1]), mode, uid: Number(out[4]),
    isFile: type === S_IFREG, isFifo: type === S_IFIFO, isSocket: type === S_IFSOCK };
}

/** 16 address bytes (IPv4 as IPv4-mapped IPv6), or undefined if `address` is not an IP literal. */
function ipBytes(address: string): Uint8Array | undefined {
  let a = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  const kind = isIP(a);
  if (kind === 4) a = `::ffff:${a}`;
  else if (kind !== 6) return undefined;
  if (a.includes('.')) { // dotted IPv4 tail → two hex groups
    const cut = a.lastIndexOf(':');
    const p = a.slice(cut + 1).split('.').map(Number) as [number, number, number, number];
    a = `${a.slice(0, cut)}:${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const halves = a.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length > 1 ? [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[i * 2] = v >> 8; out[i * 2 + 1] = v & 0xff; });
  return out;
}

const hex8 = (b: Uint8Array, at: number) => // one 32-bit word as the kernel prints it (%08X of a host-order u32)
  (((b[at + 3]! << 24) | (b[at + 2]! << 16) | (b[at + 1]! << 8) | b[at]!) >>> 0).toString(16).toUpperCase().padStart(8, '0');
const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');

/** The kernel's notations of one endpoint: `/proc/net/tcp` (IPv4 only) and `/proc/net/tcp6`. */
function procNotations(ep: { address: string; port: number }): { v4?: string; v6: string } | undefined {
  if (!Number.isInteger(ep.port) || ep.port < 0 || ep.port > 65535) return undefined;
  const b = ipBytes(ep.address);
  if (!b) return undefined;
  const port = hexPort(ep.port);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return { v4: mapped ? `${hex8(b, 12)}:${port}` : undefined, v6: `${hex8(b, 0)}${hex8(b, 4)}${hex8(b, 8)}${hex8(b, 12)}:${port}` };
}

function readProc(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

/** uid owning the other end of a TCP connection between two sockets of this host and network namespace
 *  (from /proc/net/tcp and tcp6, node:fs; §5.21); undefined if no such socket is listed. `local` is this
 *  side's endpoint (`socket.localAddress/localPort`), `remote` the peer's (`remoteAddress/remotePort`);
 *  IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are accepted. A peer on another host or network
 *  namespace gives undefined (treat it as "unknown"). */
export function tcpPeerUid(local: { address: string; port: number }, remote: { address: string; port: number }): number | undefined {
  const l = procNotations(local), r = procNotations(remote);
  if (!l || !r) return undefined;
  const tables: Array<[string, string, string]> = [];
  if (l.v4 && r.v4) tables.push(['/proc/net/tcp', r.v4, l.v4]);
  tables.push(['/proc/net/tcp6', r.v6, l.v6]);
  for (const [path, wantLocal, wantRemote] of tables) {
    const lines = readProc(path).split('\n');
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i]!.trim().split(/\s+/);
      if (cols.length < 8) continue;
      if (cols[1] === wantLocal && cols[2] === wantRemote) {
        const uid = Number(cols[7]);
        if (Number.isInteger(uid)) return uid;
      }
    }
  }
  return undefined;
}
