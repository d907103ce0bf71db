// The whole koffi boundary of shmkit: every C signature, declared once, loaded lazily.
import { endianness } from 'node:os';
import koffi from 'koffi';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ShmkitError } from './errors.js';

export interface NativeApi {
  abiVersion(): number;
  noop(): void;
  add(a: number, b: number): number;
  mutexSize(): number;
  shmOpen(name: string, flags: number, mode: number): number;
  shmUnlink(name: string): number;
  fileOpen(path: string, flags: number, mode: number): number;
  ftruncate(fd: number, size: number): number;
  fallocate(fd: number, off: number, len: number): number;
  fstat(fd: number, out6: BigInt64Array): number;
  fchmod(fd: number, mode: number): number;
  close(fd: number): number;
  mmap(fd: number, len: number, prot: number, off: number): number;
  munmap(addr: number, len: number): number;
  tombstone(addr: number, len: number): number;
  msync(addr: number, len: number, flags: number): number;
  link(from: string, to: string): number;
  unlink(path: string): number;
  futexWait(addr: number, expected: number, timeoutNs: number): number;
  futexWake(addr: number, count: number): number;
  mutexInit(addr: number): number;
  mutexLock(addr: number): number;
  mutexTrylock(addr: number): number;
  mutexTimedlock(addr: number, timeoutNs: number): number;
  mutexUnlock(addr: number): number;
  mutexOwner(addr: number): number;
  flock(fd: number, op: number): number;
  getcpu(): number;
  gettid(): number;
  eventfd(initval: number): number;
  mkfifo(path: string, mode: number): number;
  fifoOpen(path: string, asReader: number): number;
  signalFd(fd: number, kind: number): number;
  drainFd(fd: number, kind: number): number;
  /** Starts a libuv poll watcher on `fd`; the callback gets (status, events). */
  poll(fd: number, onReadable: (status: number) => void): { start(): void; stop(): void; close(): void };
  /** An ArrayBuffer over `len` bytes at `addr` (created once per mapping). */
  view(addr: number, len: number): ArrayBuffer;
  /** Detaches an ArrayBuffer so later access throws; false if unavailable. */
  detach(buf: ArrayBuffer): boolean;
  // --- core-sock ---
  dup(fd: number): number;
  poll1(fd: number, events: number, timeoutMs: number): number;
  unixSocket(type: number): number;
  socketpair(type: number, out2: Int32Array): number;
  unixBind(fd: number, addr: Uint8Array, len: number): number;
  unixConnect(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number): number;
  sendFds(fd: number, data: Uint8Array, len: number, fds: Int32Array, nfds: number): number;
  recvFds(fd: number, buf: Uint8Array, cap: number, fdsOut: Int32Array, maxFds: number, meta6: Int32Array): number;
  peercred(fd: number, out3: Int32Array): number;
  setPasscred(fd: number, on: number): number;
  shutdown(fd: number, how: number): number;
  // --- core-sock ---
  // --- core-nodelock ---
  pidfdOpen(pid: number): number;
  ofdLock(fd: number, start: number, len: number, op: number): number;
  // --- core-nodelock ---
  // --- core-segment ---
  init(flags: number): number;
  fsync(fd: number, dataOnly: number): number;
  memfdCreate(name: string, flags: number): number;
  addSeals(fd: number, seals: number): number;
  getSeals(fd: number): number;
  punchHole(fd: number, off: number, len: number): number;
  guardAdd(addr: number, len: number): number;
  guardRemove(slot: number): number;
  guardTable(): number;
  // --- core-segment ---
  // --- core-wait ---
  // --- core-wait ---
  // --- core-utils ---
  fence(): void;
  // --- core-utils ---
}

const SIGNATURES: Record<keyof Omit<NativeApi, 'view' | 'detach' | 'poll'>, string> = {
  abiVersion: 'int32_t shk_abi_version(void)',
  noop: 'void shk_noop(void)',
  add: 'int32_t shk_add(int32_t a, int32_t b)',
  mutexSize: 'int32_t shk_mutex_size(void)',
  shmOpen: 'int64_t shk_shm_open(const char *name, int32_t flags, uint32_t mode)',
  shmUnlink: 'int64_t shk_shm_unlink(const char *name)',
  fileOpen: 'int64_t shk_file_open(const char *path, int32_t flags, uint32_t mode)',
  ftruncate: 'int64_t shk_ftruncate(int32_t fd, int64_t size)',
  fallocate: 'int64_t shk_fallocate(int32_t fd, int64_t off, int64_t len)',
  fstat: 'int64_t shk_fstat(int32_t fd, _Out_ int64_t *out6)',
  fchmod: 'int64_t shk_fchmod(int32_t fd, uint32_t mode)',
  close: 'int64_t shk_close(int32_t fd)',
  mmap: 'int64_t shk_mmap(int32_t fd, int64_t len, int32_t prot, int64_t off)',
  munmap: 'int64_t shk_munmap(int64_t addr, int64_t len)',
  tombstone: 'int64_t shk_tombstone(int64_t addr, int64_t len)',
  msync: 'int64_t shk_msync(int64_t addr, int64_t len, int32_t flags)',
  link: 'int64_t shk_link(const char *from, const char *to)',
  unlink: 'int64_t shk_unlink(const char *path)',
  futexWait: 'int64_t shk_futex_wait(int64_t addr, uint32_t expected, int64_t timeout_ns)',
  futexWake: 'int64_t shk_futex_wake(int64_t addr, int32_t count)',
  mutexInit: 'int64_t shk_mutex_init(int64_t addr)',
  mutexLock: 'int64_t shk_mutex_lock(int64_t addr)',
  mutexTrylock: 'int64_t shk_mutex_trylock(int64_t addr)',
  mutexTimedlock: 'int64_t shk_mutex_timedlock(int64_t addr, int64_t timeout_ns)',
  mutexUnlock: 'int64_t shk_mutex_unlock(int64_t addr)',
  mutexOwner: 'int64_t shk_mutex_owner(int64_t addr)',
  flock: 'int64_t shk_flock(int32_t fd, int32_t op)',
  getcpu: 'int64_t shk_getcpu(void)',
  gettid: 'int64_t shk_gettid(void)',
  eventfd: 'int64_t shk_eventfd(uint32_t initval)',
  mkfifo: 'int64_t shk_mkfifo(const char *path, uint32_t mode)',
  fifoOpen: 'int64_t shk_fifo_open(const char *path, int32_t as_reader)',
  signalFd: 'int64_t shk_signal_fd(int32_t fd, int32_t kind)',
  drainFd: 'int64_t shk_drain_fd(int32_t fd, int32_t kind)',
  // --- core-sock ---
  dup: 'int64_t shk_dup(int32_t fd)',
  poll1: 'int64_t shk_poll1(int32_t fd, int32_t events, int32_t timeout_ms)',
  unixSocket: 'int64_t shk_unix_socket(int32_t type)',
  socketpair: 'int64_t shk_socketpair(int32_t type, _Out_ int32_t *out2)',
  unixBind: 'int64_t shk_unix_bind(int32_t fd, const uint8_t *addr, int32_t len)',
  unixConnect: 'int64_t shk_unix_connect(int32_t fd, const uint8_t *addr, int32_t len)',
  listen: 'int64_t shk_listen(int32_t fd, int32_t backlog)',
  accept: 'int64_t shk_accept(int32_t fd)',
  sendFds: 'int64_t shk_send_fds(int32_t fd, const uint8_t *data, int64_t len, const int32_t *fds, int32_t nfds)',
  recvFds: 'int64_t shk_recv_fds(int32_t fd, _Out_ uint8_t *buf, int64_t cap, _Out_ int32_t *fds_out, int32_t max_fds, _Out_ int32_t *meta6)',
  peercred: 'int64_t shk_peercred(int32_t fd, _Out_ int32_t *out3)',
  setPasscred: 'int64_t shk_set_passcred(int32_t fd, int32_t on)',
  shutdown: 'int64_t shk_shutdown(int32_t fd, int32_t how)',
  // --- core-sock ---
  // --- core-nodelock ---
  pidfdOpen: 'int64_t shk_pidfd_open(int32_t pid)',
  ofdLock: 'int64_t shk_ofd_lock(int32_t fd, int64_t start, int64_t len, int32_t op)',
  // --- core-nodelock ---
  // --- core-segment ---
  init: 'int64_t shk_init(int32_t flags)',
  fsync: 'int64_t shk_fsync(int32_t fd, int32_t data_only)',
  memfdCreate: 'int64_t shk_memfd_create(const char *name, int32_t flags)',
  addSeals: 'int64_t shk_add_seals(int32_t fd, int32_t seals)',
  getSeals: 'int64_t shk_get_seals(int32_t fd)',
  punchHole: 'int64_t shk_punch_hole(int32_t fd, int64_t off, int64_t len)',
  guardAdd: 'int64_t shk_guard_add(int64_t addr, int64_t len)',
  guardRemove: 'int64_t shk_guard_remove(int32_t slot)',
  guardTable: 'int64_t shk_guard_table(void)',
  // --- core-segment ---
  // --- core-wait ---
  // --- core-wait ---
  // --- core-utils ---
  fence: 'void shk_fence(void)',
  // --- core-utils ---
};

let api: NativeApi | undefined;

function libraryPathFor(): string {
  const override = process.env['SHMKIT_NATIVE_LIB'];
  if (override) {
    if (!existsSync(override)) throw new ShmkitError('ERR_NATIVE_NOT_FOUND', `libshmkit.so not found at SHMKIT_NATIVE_LIB=${override} (no fallback); run pnpm --filter @shmkit/native build`, { details: { tried: [override] } });
    return override;
  }
  const require = createRequire(import.meta.url);
  const { libraryPath } = require('@shmkit/native') as { libraryPath(): string };
  const path = libraryPath();
  if (!existsSync(path)) {
    throw new ShmkitError('ERR_NATIVE_NOT_FOUND', `libshmkit.so not found at ${path}; run pnpm --filter @shmkit/native build`, { details: { tried: [path] } });
  }
  return path;
}

/** Loads libshmkit.so on first use. */
export function native(): NativeApi {
  if (api) return api;
  if (loadError !== undefined) throw loadError;
  try { return load(); } catch (e) { loadError = e; throw e; }
}
/** §5.2: the first load failure is kept and rethrown by every later call. */
let loadError: unknown;

function load(): NativeApi {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', `shmkit needs Linux x64 or arm64, not ${process.platform} ${process.arch}`);
  }
  // Layouts are little-endian on disk and in shm; a big-endian host would misread every header.
  if (endianness() !== 'LE') throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', 'shmkit needs a little-endian CPU');
  const path = libraryPathFor();
  let lib: ReturnType<typeof koffi.load>;
  try { lib = koffi.load(path); } catch (e) {
    throw new ShmkitError('ERR_NATIVE_NOT_FOUND', `${path} could not be loaded: ${(e as Error).message}`, { cause: e, details: { tried: [path] } });
  }
  // The ABI is checked before any other symbol is looked up: an older or foreign library may lack them.
  const abi = (lib.func(SIGNATURES.abiVersion) as () => number)();
  if (abi !== 1) throw new ShmkitError('ERR_NATIVE_ABI_MISMATCH', `libshmkit.so at ${path} has ABI ${abi}, expected 1`, { details: { expected: 1, actual: abi } });
  const fns: Record<string, unknown> = {};
  for (const [key, sig] of Object.entries(SIGNATURES)) fns[key] = lib.func(sig);
  const loaded = fns as unknown as NativeApi;
  if (loaded.mutexSize() > 64) throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', 'pthread_mutex_t larger than 64 bytes');
  const mod = { exports: {} as { detach?: (b: ArrayBuffer) => boolean } };
  try { process.dlopen(mod as unknown as NodeJS.Module, path); } catch { /* tombstone fallback */ }
  const detachFn = mod.exports.detach;
  loaded.view = (addr, len) => koffi.view(addr as unknown as never, len) as ArrayBuffer;
  loaded.poll = (fd, onReadable) => {
    // koffi calls the callback as (status, events) whatever its .d.ts says.
    const cb = ((status: number) => onReadable(status)) as unknown as (ev: unknown) => void;
    // One handle for the WakeHandle's life, unref'd while no wait is pending: cheaper than a new
    // uv_poll per park, and a handle that is always referenced from here is never collected.
    let handle: { ref(): void; unref(): void; close(): void } | undefined;
    return {
      start() {
        handle ??= (koffi as unknown as { node: { poll(fd: number, o: object, c: unknown): typeof handle } }).node.poll(fd, { readable: true }, cb);
        handle!.ref();
      },
      stop() { handle?.unref(); },
      close() { handle?.close(); handle = undefined; },
    };
  };
  loaded.detach = (buf) => (detachFn ? detachFn(buf) : false);
  // §3.2: checked at load so FIFO wake handles can default to the socket watcher without it.
  fdPollAvailable = typeof (koffi as unknown as { node?: { poll?: unknown } }).node?.poll === 'function';
  // §3.2: the SIGBUS guard is installed as the library loads (before any mapping exists), and the shim's
  // poisoned[] table is viewed once for the life of the process.
  if (process.env['SHMKIT_NO_SIGBUS_GUARD'] !== '1' && loaded.init(0) >= 0) {
    guardPoisoned = new Uint32Array(loaded.view(loaded.guardTable(), 4096));
  }
  api = loaded;
  return api;
}

let guardPoisoned: Uint32Array | null = null;
let fdPollAvailable = false;
/** Whether koffi's libuv poll handle exists (checked at load, §3.2). Without it FIFO wake handles use the
 *  `socket` watcher and eventfd waits throw ERR_UNSUPPORTED_PLATFORM. Loads the library. */
export function hasFdPoll(): boolean {
  native();
  return fdPollAvailable;
}
/** The SIGBUS guard's `poisoned[1024]` (§4.5), or null when the guard is off (`SHMKIT_NO_SIGBUS_GUARD=1`,
 *  or shk_init failed). Loads the library. */
export function sigbusGuardTable(): Uint32Array | null {
  native();
  return guardPoisoned;
}

// --- core-sock ---
/** Readiness reported by a libuv poll handle; `status < 0` is a libuv error (e.g. POLLERR on the fd). */
export interface PollEvents { readable: boolean; writable: boolean; disconnect: boolean }
/** A libuv poll handle over one fd (koffi's `node.poll`), level-triggered. */
export interface RawPollHandle {
  start(events: { readable: boolean; writable: boolean }, cb: (status: number, ev: PollEvents) => void): void;
  stop(): void; ref(): void; unref(): void; close(): void;
}
/** Creates and starts a libuv poll handle on `fd`. The caller must keep it referenced while started:
 *  koffi closes an unreferenced handle when it is garbage-collected. */
export function openPollHandle(fd: number, events: { readable: boolean; writable: boolean },
  cb: (status: number, ev: PollEvents) => void): RawPollHandle {
  native();
  const node = (koffi as unknown as { node?: { poll?: (fd: number, o: object, c: unknown) => RawPollHandle | null } }).node;
  if (typeof node?.poll !== 'function') throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', 'koffi.node.poll is not available');
  let h: RawPollHandle | null;
  try { h = node.poll(fd, events, cb); } catch (e) {
    throw new ShmkitError('ERR_SYSCALL', `poll handle for fd ${fd}: ${(e as Error).message}`, { cause: e, syscall: 'uv_poll_start' });
  }
  if (!h) throw new ShmkitError('ERR_SYSCALL', `poll handle for fd ${fd} could not be started`, { syscall: 'uv_poll_start' });
  const raw = h;
  return {
    start(ev, c) {
      try { raw.start(ev, c); } catch (e) {
        throw new ShmkitError('ERR_SYSCALL', `poll handle for fd ${fd}: ${(e as Error).message}`, { cause: e, syscall: 'uv_poll_start' });
      }
    },
    stop() { raw.stop(); }, ref() { raw.ref(); }, unref() { raw.unref(); }, close() { raw.close(); },
  };
}
// --- core-sock ---
