import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';
import { objectName, type PackageToken } from './names.js';
import { SHM_DIR } from './names.js';

export type WakeKind = 'eventfd' | 'fifo';
export interface WaitOptions { signal?: AbortSignal; timeoutMs?: number }

const KIND = { eventfd: 1, fifo: 2 } as const;
/** Poll handles with a pending wait: kept reachable so the GC never silently stops them. */
const pending = new Set<unknown>();

/** An fd that one side signals and the other waits on through libuv (no thread, no CPU while parked). */
export class WakeHandle implements Disposable {
  readonly kind: WakeKind;
  readonly role: 'waiter' | 'signaller' | 'both';
  #fd: number;
  #path: string | undefined;
  #unlinkOnClose: boolean;
  #watch: ReturnType<ReturnType<typeof native>['poll']> | undefined;
  #waiting: { resolve(v: boolean): void; reject(e: unknown): void; done(): void } | undefined;
  #closed = false;
  /** Wake-ups drained by the watcher while no wait was pending; consumed by the next wait(). */
  #latched = 0;

  private constructor(kind: WakeKind, role: WakeHandle['role'], fd: number, path?: string, unlinkOnClose = false) {
    this.kind = kind; this.role = role; this.#fd = fd; this.#path = path; this.#unlinkOnClose = unlinkOnClose;
  }

  /** A new eventfd (both ends in one fd; pass it to a child through stdio or fd passing). */
  static eventfd(): WakeHandle {
    const fd = native().eventfd(0);
    if (fd < 0) throw syscallError(fd, 'eventfd', 'WakeHandle.eventfd');
    return new WakeHandle('eventfd', 'both', fd);
  }
  /** Waiter side of the named FIFO `SHM_DIR/shmkit.<pkg>.<name>.<part>`. */
  static createFifo(pkg: PackageToken, name: string, part: string, opts: { mode?: number; unlinkOnClose?: boolean } = {}): WakeHandle {
    const path = SHM_DIR + objectName(pkg, name, part);
    const n = native();
    const r = n.mkfifo(path, opts.mode ?? 0o600);
    if (r < 0 && r !== -17) throw syscallError(r, 'mkfifo', path);
    const fd = n.fifoOpen(path, 1);
    if (fd < 0) throw syscallError(fd, 'open', path);
    return new WakeHandle('fifo', 'waiter', fd, path, opts.unlinkOnClose !== false);
  }
  /** Signaller side of a named FIFO; opens lazily and never blocks. */
  static fifoSignaller(pkg: PackageToken, name: string, part: string): WakeHandle {
    return new WakeHandle('fifo', 'signaller', -1, SHM_DIR + objectName(pkg, name, part));
  }

  get fd(): number { return this.#fd; }

  /** true: a wake-up is now pending; false: nobody can be woken (FIFO without a reader). */
  signal(): boolean {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', 'WakeHandle closed');
    const n = native();
    if (this.#fd < 0) {
      const fd = n.fifoOpen(this.#path!, 0);
      if (fd < 0) return false;
      this.#fd = fd;
    }
    const r = n.signalFd(this.#fd, KIND[this.kind]);
    if (r >= 0) return true;
    if (this.role === 'signaller') { n.close(this.#fd); this.#fd = -1; }
    return false;
  }
  /** Non-blocking; the number of wake-ups consumed. */
  drain(): number {
    if (this.#closed || this.#fd < 0) return 0;
    return Math.max(0, native().drainFd(this.#fd, KIND[this.kind]));
  }
  /** Resolves true when woken, false on timeout; rejects ERR_ABORTED / ERR_CLOSED; ERR_BUSY if a wait is pending. */
  wait(opts: WaitOptions = {}): Promise<boolean> {
    if (this.#closed) return Promise.reject(new ShmkitError('ERR_CLOSED', 'WakeHandle closed'));
    if (this.role === 'signaller') return Promise.reject(new ShmkitError('ERR_INVALID_STATE', 'a signaller cannot wait'));
    if (this.#waiting) return Promise.reject(new ShmkitError('ERR_BUSY', 'a wait is already pending on this WakeHandle'));
    if (opts.signal?.aborted) return Promise.reject(new ShmkitError('ERR_ABORTED', 'wait aborted', { cause: opts.signal.reason }));
    if (this.#latched > 0 || this.drain() > 0) { this.#latched = 0; return Promise.resolve(true); }
    return new Promise<boolean>((resolve, reject) => {
      // The watcher outlives one wait: it settles whichever wait is pending when it fires.
      const watch = (this.#watch ??= native().poll(this.#fd, (status) => {
        const w = this.#waiting;
        if (status < 0) { if (w) { w.done(); w.reject(new ShmkitError('ERR_SYSCALL', `poll failed (${status})`)); } return; }
        if (this.drain() === 0) return;
        if (w) { w.done(); w.resolve(true); } else this.#latched++;
      }));
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => { finish(); resolve(false); }, opts.timeoutMs);
      const onAbort = () => { finish(); reject(new ShmkitError('ERR_ABORTED', 'wait aborted', { cause: opts.signal?.reason })); };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = () => {
        watch.stop(); pending.delete(watch); this.#waiting = undefined;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.#waiting = { resolve, reject, done: finish };
      pending.add(watch);
      watch.start();
    });
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const w = this.#waiting;
    if (w) { w.done(); w.reject(new ShmkitError('ERR_CLOSED', 'WakeHandle closed while waiting')); }
    this.#watch?.close();
    const n = native();
    if (this.#fd >= 0) n.close(this.#fd);
    this.#fd = -1;
    if (this.#unlinkOnClose && this.#path) n.unlink(this.#path);
  }
  [Symbol.dispose](): void { this.close(); }
}

export const DOORBELL_SIZE = 16;
export const DoorbellState = { Awake: 0, ParkedFd: 1, ParkedFutex: 2, Closed: 3 } as const;

/** The sleeping-flag protocol: a producer signals only when the waiter said it is asleep. */
export class Doorbell {
  readonly #words: Int32Array;
  private constructor(words: Int32Array) { this.#words = words; }
  static at(seg: { int32(offset: number, length: number): Int32Array }, offset: number): Doorbell {
    if (offset % 16 !== 0) throw new ShmkitError('ERR_INVALID_ARGUMENT', `doorbell offset ${offset} not 16-aligned`);
    return new Doorbell(seg.int32(offset, 4));
  }
  claim(wakeId: number): void {
    Atomics.store(this.#words, 2, process.pid); Atomics.store(this.#words, 3, wakeId); Atomics.store(this.#words, 0, DoorbellState.Awake);
  }
  get state(): number { return Atomics.load(this.#words, 0); }
  get signals(): number { return Atomics.load(this.#words, 1) >>> 0; }
  get waiterPid(): number { return Atomics.load(this.#words, 2) >>> 0; }
  get wakeId(): number { return Atomics.load(this.#words, 3) >>> 0; }
  /** Producer side, after its publishing store: signals iff the waiter is parked and this caller wins the CAS. */
  ring(signaller: WakeHandle): boolean {
    const s = Atomics.load(this.#words, 0);
    if (s !== DoorbellState.ParkedFd) return false;
    if (Atomics.compareExchange(this.#words, 0, s, DoorbellState.Awake) !== s) return false;
    Atomics.add(this.#words, 1, 1);
    signaller.signal();
    return true;
  }
  /** Waiter side: announce sleep, re-check, then park on `wake` until rung (or `recheckMs`). */
  async park(ready: () => boolean, wake: WakeHandle, opts: WaitOptions & { recheckMs?: number } = {}): Promise<boolean> {
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    const recheck = opts.recheckMs ?? 1000;
    for (;;) {
      Atomics.store(this.#words, 0, DoorbellState.ParkedFd);
      if (ready()) { Atomics.store(this.#words, 0, DoorbellState.Awake); return true; }
      const remaining = deadline - Date.now();
      if (remaining <= 0) { Atomics.store(this.#words, 0, DoorbellState.Awake); return false; }
      try { await wake.wait({ timeoutMs: Math.min(remaining, recheck), signal: opts.signal }); }
      finally { Atomics.store(this.#words, 0, DoorbellState.Awake); }
      if (ready()) return true;
    }
  }
}
