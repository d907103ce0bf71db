import { Socket } from 'node:net';
import { ShmkitError, syscallError } from './errors.js';
import { hasFdPoll, native } from './native.js';
import { objectName, type PackageToken } from './names.js';
import { SHM_DIR } from './names.js';

export type WakeKind = 'eventfd' | 'fifo';
/** 'poll': koffi's libuv poll handle; 'socket': a net.Socket over the fd (FIFO only, no FFI on the wait path). */
export type WakeWatcher = 'poll' | 'socket';
export interface WaitOptions { signal?: AbortSignal; timeoutMs?: number }

const KIND = { eventfd: 1, fifo: 2 } as const;
const S_IFMT = 0o170000, S_IFIFO = 0o010000;
const EEXIST = -17, EPIPE = -32;
/** Largest delay setTimeout honours (longer ones fire after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Poll handles with a pending wait: kept reachable so the GC never silently stops them. */
const pending = new Set<unknown>();

type PollWatch = ReturnType<ReturnType<typeof native>['poll']>;
interface PendingWait { resolve(v: boolean): void; reject(e: unknown): void; done(): void }

function defaultWatcher(): WakeWatcher {
  return process.env['SHMKIT_WAKE_WATCHER'] === 'socket' || !hasFdPoll() ? 'socket' : 'poll';
}
function checkWatcher(w: unknown, kind: WakeKind): WakeWatcher {
  if (w !== 'poll' && w !== 'socket') throw new ShmkitError('ERR_INVALID_ARGUMENT', `watcher must be 'poll' or 'socket', got ${String(w)}`);
  if (w === 'socket' && kind === 'eventfd') throw new ShmkitError('ERR_INVALID_ARGUMENT', "an eventfd cannot use the 'socket' watcher");
  return w;
}
/** fstat of an open fd: is it a FIFO owned by our uid? */
function isOwnFifo(fd: number): boolean {
  const st = new BigInt64Array(6);
  if (native().fstat(fd, st) < 0) return false;
  return (Number(st[3]) & S_IFMT) === S_IFIFO && Number(st[4]) === process.getuid!();
}
function validTimeout(t: number | undefined): void {
  if (t !== undefined && (typeof t !== 'number' || Number.isNaN(t) || t < 0)) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `timeoutMs must be a non-negative number, got ${String(t)}`);
  }
}

/** An fd that one side signals and the other waits on through libuv (no thread, no CPU while parked). */
export class WakeHandle implements Disposable {
  readonly kind: WakeKind;
  readonly role: 'waiter' | 'signaller' | 'both';
  readonly #watcher: WakeWatcher;
  #fd: number;
  #path: string | undefined;
  #unlinkOnClose: boolean;
  #watch: PollWatch | undefined;
  #sock: Socket | undefined;
  #waiting: PendingWait | undefined;
  #closed = false;
  #refed = true;
  #refused = false;
  /** Wake-ups drained by the watcher while no wait was pending; consumed by the next wait(). */
  #latched = 0;

  private constructor(kind: WakeKind, role: WakeHandle['role'], fd: number, watcher: WakeWatcher, path?: string, unlinkOnClose = false) {
    this.kind = kind; this.role = role; this.#fd = fd; this.#watcher = watcher; this.#path = path; this.#unlinkOnClose = unlinkOnClose;
  }

  /** A new eventfd (both ends in one fd; pass it to a child through stdio or fd passing). */
  static eventfd(): WakeHandle {
    const fd = native().eventfd(0);
    if (fd < 0) throw syscallError(fd, 'eventfd', 'WakeHandle.eventfd');
    return new WakeHandle('eventfd', 'both', fd, 'poll');
  }
  /** Wraps an inherited or received fd. takeOwnership (default true): close() closes `fd`; false: a dup is used. */
  static fromFd(fd: number, kind: WakeKind, opts: { watcher?: WakeWatcher; takeOwnership?: boolean } = {}): WakeHandle {
    if (kind !== 'eventfd' && kind !== 'fifo') throw new ShmkitError('ERR_INVALID_ARGUMENT', `kind must be 'eventfd' or 'fifo', got ${String(kind)}`);
    const watcher = checkWatcher(opts.watcher ?? (kind === 'fifo' ? defaultWatcher() : 'poll'), kind);
    if (!Number.isInteger(fd) || fd < 0) throw new ShmkitError('ERR_SYSCALL', `WakeHandle.fromFd: bad fd ${fd}`, { errno: 9, syscall: 'fstat' });
    const n = native();
    const st = new BigInt64Array(6);
    const r = n.fstat(fd, st);
    if (r < 0) throw syscallError(r, 'fstat', `WakeHandle.fromFd(${fd})`);
    if (kind === 'fifo' && (Number(st[3]) & S_IFMT) !== S_IFIFO) throw new ShmkitError('ERR_INVALID_ARGUMENT', `WakeHandle.fromFd: fd ${fd} is not a FIFO`);
    let own = fd;
    if (opts.takeOwnership === false) {
      own = n.dup(fd);
      if (own < 0) throw syscallError(own, 'dup', `WakeHandle.fromFd(${fd})`);
    }
    return new WakeHandle(kind, 'both', own, watcher);
  }
  /** Waiter side of the named FIFO `SHM_DIR/shmkit.<pkg>.<name>.<part>` (an existing FIFO of ours is reused). */
  static createFifo(pkg: PackageToken, name: string, part: string,
                    opts: { mode?: number; watcher?: WakeWatcher; unlinkOnClose?: boolean } = {}): WakeHandle {
    const path = SHM_DIR + objectName(pkg, name, part);
    const watcher = checkWatcher(opts.watcher ?? defaultWatcher(), 'fifo');
    const mode = opts.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || (mode & ~0o777) !== 0) throw new ShmkitError('ERR_INVALID_ARGUMENT', `mode ${String(mode)} has bits outside 0o777`);
    const n = native();
    const r = n.mkfifo(path, mode);
    if (r < 0 && r !== EEXIST) throw syscallError(r, 'mkfifo', path);
    const fd = n.fifoOpen(path, 1);
    if (fd < 0) throw r === EEXIST ? new ShmkitError('ERR_EXISTS', `${path}: exists and is not our FIFO`, { errno: 17, syscall: 'mkfifo' }) : syscallError(fd, 'open', path);
    if (!isOwnFifo(fd)) {
      n.close(fd);
      throw new ShmkitError('ERR_EXISTS', `${path}: exists and is not a FIFO owned by us`, { errno: 17, syscall: 'mkfifo' });
    }
    return new WakeHandle('fifo', 'waiter', fd, watcher, path, opts.unlinkOnClose !== false);
  }
  /** Signaller side of a named FIFO; opens lazily, reopens after ENXIO/EPIPE, never blocks. */
  static fifoSignaller(pkg: PackageToken, name: string, part: string): WakeHandle {
    return new WakeHandle('fifo', 'signaller', -1, 'poll', SHM_DIR + objectName(pkg, name, part));
  }

  get fd(): number { return this.#fd; }
  /** Signaller side: true once the name was found to be something other than a FIFO owned by our uid. */
  get refused(): boolean { return this.#refused; }

  #openSignaller(): boolean {
    const n = native();
    const fd = n.fifoOpen(this.#path!, 0);
    if (fd < 0) return false; // ENXIO: no reader; ENOENT: no FIFO
    if (!isOwnFifo(fd)) { n.close(fd); this.#refused = true; return false; }
    this.#fd = fd;
    return true;
  }
  /** true: a wake-up is now pending (written, or already pending); false: nobody can be woken. Throws only ERR_CLOSED. */
  signal(): boolean {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', 'WakeHandle closed');
    const n = native();
    if (this.#fd < 0 && !this.#openSignaller()) return false;
    let r = n.signalFd(this.#fd, KIND[this.kind]);
    if (r >= 0) return true;
    if (this.role !== 'signaller') return false;
    n.close(this.#fd); this.#fd = -1;
    // EPIPE: the reader we had is gone; a new waiter may have made a new FIFO under the name.
    if (r !== EPIPE || !this.#openSignaller()) return false;
    r = n.signalFd(this.#fd, KIND[this.kind]);
    if (r >= 0) return true;
    n.close(this.#fd); this.#fd = -1;
    return false;
  }
  /** Non-blocking; the number of wake-ups consumed (pending signals are consumed together). */
  drain(): number {
    if (this.#closed || this.#fd < 0) return 0;
    return this.#drainBuffered() + Math.max(0, native().drainFd(this.#fd, KIND[this.kind]));
  }
  /** What the watcher already read (latched wake-ups, the socket's buffer): no FFI call. */
  #drainBuffered(): number {
    let got = this.#latched;
    this.#latched = 0;
    const sock = this.#sock;
    if (sock) for (let c = sock.read() as Buffer | null; c !== null; c = sock.read() as Buffer | null) got += c.length;
    return got;
  }
  /** Resolves true when woken (pending wake-ups drained), false on timeout; rejects ERR_ABORTED / ERR_CLOSED;
   *  ERR_BUSY if a wait is already pending. */
  wait(opts: WaitOptions = {}): Promise<boolean> {
    if (this.#closed) return Promise.reject(new ShmkitError('ERR_CLOSED', 'WakeHandle closed'));
    if (this.role === 'signaller') return Promise.reject(new ShmkitError('ERR_INVALID_STATE', 'a signaller cannot wait'));
    if (this.#waiting) return Promise.reject(new ShmkitError('ERR_BUSY', 'a wait is already pending on this WakeHandle'));
    try { validTimeout(opts.timeoutMs); } catch (e) { return Promise.reject(e); }
    if (opts.signal?.aborted) return Promise.reject(new ShmkitError('ERR_ABORTED', 'wait aborted', { cause: opts.signal.reason }));
    // the socket watcher reads the fd itself (no FFI on its wait path); poll drains through the shim
    if ((this.#watcher === 'socket' ? this.#drainBuffered() : this.drain()) > 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve, reject) => {
      const t = opts.timeoutMs;
      const timer = t === undefined || t === Infinity ? undefined : setTimeout(() => { finish(); resolve(false); }, Math.min(t, MAX_TIMER_MS));
      if (timer && !this.#refed) timer.unref();
      const onAbort = () => { finish(); reject(new ShmkitError('ERR_ABORTED', 'wait aborted', { cause: opts.signal?.reason })); };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let stopWatch: () => void;
      const finish = () => {
        stopWatch(); this.#waiting = undefined;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.#waiting = { resolve, reject, done: finish };
      if (this.#watcher === 'socket') {
        const sock = this.#socket();
        stopWatch = () => { sock.pause(); sock.unref(); };
        if (this.#refed) sock.ref();
        sock.resume();
      } else {
        const watch = this.#pollWatch();
        stopWatch = () => { watch.stop(); pending.delete(watch); };
        pending.add(watch);
        watch.start();
        // native.ts: stop() only unrefs the uv handle, which keeps polling; so start+stop = polling, unref'd.
        if (!this.#refed) watch.stop();
      }
    });
  }
  #settle(got: number): void {
    if (got <= 0) return;
    const w = this.#waiting;
    if (w) { w.done(); w.resolve(true); } else this.#latched += got;
  }
  #fail(e: ShmkitError): void {
    const w = this.#waiting;
    if (w) { w.done(); w.reject(e); }
  }
  #pollWatch(): PollWatch {
    // The watcher outlives one wait: it settles whichever wait is pending when it fires
    // (uv_poll is level-triggered, so it always drains before returning).
    return (this.#watch ??= native().poll(this.#fd, (status) => {
      if (status < 0) { this.#fail(new ShmkitError('ERR_SYSCALL', `poll on wake fd failed (${status})`)); return; }
      this.#settle(Math.max(0, native().drainFd(this.#fd, KIND[this.kind])));
    }));
  }
  #socket(): Socket {
    if (this.#sock) return this.#sock;
    const sock = new Socket({ fd: this.#fd, readable: true, writable: false });
    sock.on('data', (chunk: Buffer) => this.#settle(chunk.length));
    sock.on('error', (e) => this.#fail(new ShmkitError('ERR_SYSCALL', `wake FIFO socket failed: ${e.message}`, { cause: e })));
    sock.pause(); sock.unref();
    return (this.#sock = sock);
  }
  /** While a wait is pending the handle keeps the event loop alive, unless unref'd. */
  ref(): this { this.#refed = true; return this; }
  unref(): this { this.#refed = false; return this; }
  /** Stops watching, rejects a pending wait with ERR_CLOSED, closes the fd, unlinks an owned FIFO. Idempotent. */
  close(): void {
    if (this.#closed) return;
    const w = this.#waiting;
    if (w) { w.done(); w.reject(new ShmkitError('ERR_CLOSED', 'WakeHandle closed while waiting')); }
    this.#closed = true;
    if (this.#watch) { pending.delete(this.#watch); this.#watch.close(); this.#watch = undefined; }
    const n = native();
    if (this.#sock) this.#sock.destroy(); // closes the fd
    else if (this.#fd >= 0) n.close(this.#fd);
    this.#sock = undefined;
    this.#fd = -1;
    if (this.#unlinkOnClose && this.#path) n.unlink(this.#path);
  }
  [Symbol.dispose](): void { this.close(); }
}

export { Doorbell, DoorbellState, DOORBELL_SIZE } from './waiter.js';
