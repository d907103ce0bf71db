// The one module that touches persistent storage. shm-core on this branch cannot yet map files in place
// (Segment.openOrCreateInPlace / flush / lockRange are being added elsewhere), so PTCP and .lastserver
// files are kept with node:fs here: an in-memory image written through with pwrite at every store, in
// program order. A pwrite completes or not at all under SIGKILL, exactly like a store into a MAP_SHARED
// mapping, so the crash semantics of spec §5.2–5.4 hold. Durable modes use fdatasync for msync.
// Switching to shm-core mappings later only changes this file.
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, constants,
  readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { TcpshmError } from '../errors.js';
import type { QueueStore } from './ptcp-queue.js';

function fileError(op: string, path: string, e: unknown): TcpshmError {
  const errno = typeof (e as { errno?: number }).errno === 'number' ? -(e as { errno: number }).errno : undefined;
  return new TcpshmError('ERR_TCPSHM_FILE', `${op} ${path} failed: ${(e as Error).message}`,
    { reasonText: op, errno, cause: e, details: { op, path, errno } });
}

/** Start time of a live process ('' if dead or a zombie). */
function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return '';
    return fields[19] ?? '0';
  } catch { return ''; }
}

/** An exclusive lock owned by this process: `<path>.lock` holding "pid starttime"; a dead owner's lock is taken over. */
export class PidLock {
  readonly path: string;
  #held = false;
  private constructor(path: string) { this.path = path; }
  static acquire(target: string, role: string, mode: number): PidLock {
    const lock = new PidLock(`${target}.lock`);
    const me = `${process.pid} ${startTime(process.pid)}\n`;
    for (let round = 0; round < 4; round++) {
      try {
        writeFileSync(lock.path, me, { flag: 'wx', mode });
        lock.#held = true;
        return lock;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('open', lock.path, e);
      }
      let owner = '';
      try { owner = readFileSync(lock.path, 'utf8'); } catch { continue; }
      const [pidText, st] = owner.trim().split(' ');
      const pid = Number(pidText);
      const alive = Number.isInteger(pid) && pid > 0 && (st === undefined || st === '' || startTime(pid) === st) && startTime(pid) !== '';
      if (alive && owner.trim() !== '') {
        throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${target} is in use by process ${pid} (${role})`, { details: { path: target, role, pid } });
      }
      try { rmSync(lock.path, { force: true }); } catch { /* raced; retry */ }
    }
    throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${target}: lock contended`, { details: { path: target, role } });
  }
  release(): void { if (this.#held) { this.#held = false; rmSync(this.path, { force: true }); } }
}

/** Detaches an ArrayBuffer so later reads give undefined instead of stale data. */
export function detachBuffer(buf: ArrayBuffer): void {
  try { structuredClone(buf, { transfer: [buf] }); } catch { /* already detached */ }
}

export function ensureDir(dir: string, mode: number): void {
  if (!existsSync(dir)) {
    try { mkdirSync(dir, { mode }); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('mkdir', dir, e); }
  }
}

function fsyncDir(dir: string): void {
  try { const fd = openSync(dir, 'r'); try { fsyncSync(fd); } finally { closeSync(fd); } } catch { /* best effort */ }
}

/** A persistent file of an exact size, locked, with a write-through image (spec §4.8 layout). */
export class FileStore implements QueueStore {
  readonly path: string;
  readonly size: number;
  readonly created: boolean;
  bytes: Uint8Array;
  #fd: number;
  #lock: PidLock | undefined;
  #closed = false;
  #durable: boolean;

  private constructor(path: string, fd: number, size: number, created: boolean, bytes: Uint8Array, lock: PidLock | undefined, durable: boolean) {
    this.path = path; this.#fd = fd; this.size = size; this.created = created; this.bytes = bytes; this.#lock = lock; this.#durable = durable;
  }

  /** Opens or creates `path` with exactly `size` bytes (§5.2 step 2): ERR_LAYOUT_MISMATCH for another size, never resized. */
  static open(path: string, size: number, opts: { mode: number; lock: boolean; role: string; durable: boolean }): FileStore {
    const lock = opts.lock ? PidLock.acquire(path, opts.role, opts.mode) : undefined;
    let fd = -1;
    try {
      try { fd = openSync(path, constants.O_RDWR | constants.O_CREAT, opts.mode); } catch (e) { throw fileError('open', path, e); }
      const actual = fstatSync(fd).size;
      let created = false;
      if (actual === 0) {
        try { ftruncateSync(fd, size); } catch (e) { throw fileError('ftruncate', path, e); }
        created = true;
        if (opts.durable) { fsyncSync(fd); fsyncDir(dirname(path)); }
      } else if (actual !== size) {
        throw new TcpshmError('ERR_LAYOUT_MISMATCH', `${path} has ${actual} bytes, expected ${size} (check tcpQueueSize/nameSize); it was not resized`,
          { details: { path, field: 'size', expected: size, actual } });
      }
      const bytes = new Uint8Array(new ArrayBuffer(size));
      if (!created) {
        let got = 0;
        try { while (got < size) { const n = readSync(fd, bytes, got, size - got, got); if (n <= 0) break; got += n; } }
        catch (e) { throw fileError('mmap', path, e); }
      }
      const s = new FileStore(path, fd, size, created, bytes, lock, opts.durable);
      fd = -1;
      return s;
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      lock?.release();
      throw e;
    } finally { /* fd ownership moved */ }
  }

  written(off: number, len: number): void {
    if (this.#closed) throw new TcpshmError('ERR_CLOSED', `${this.path} closed`);
    let done = 0;
    while (done < len) done += writeSync(this.#fd, this.bytes, off + done, len - done, off + done);
  }
  flush(_off: number, _len: number): void {
    if (this.#closed) throw new TcpshmError('ERR_CLOSED', `${this.path} closed`);
    try { fdatasyncSync(this.#fd); } catch (e) { throw fileError('msync', this.path, e); }
  }
  get closed(): boolean { return this.#closed; }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
    detachBuffer(this.bytes.buffer as ArrayBuffer);
    this.#lock?.release();
    void this.#durable;
  }
}

/** `.lastserver` (§4.9): read with a size check, replaced atomically. Locked for the client's lifetime. */
export class LastServerFile {
  readonly path: string;
  readonly nameSize: number;
  #lock: PidLock;
  #mode: number;
  #durable: boolean;
  private constructor(path: string, nameSize: number, lock: PidLock, mode: number, durable: boolean) {
    this.path = path; this.nameSize = nameSize; this.#lock = lock; this.#mode = mode; this.#durable = durable;
  }
  static open(path: string, nameSize: number, mode: number, durable: boolean): LastServerFile {
    const lock = PidLock.acquire(path, 'lastserver', mode);
    try {
      if (!existsSync(path)) writeFileSync(path, new Uint8Array(nameSize), { mode });
      const f = new LastServerFile(path, nameSize, lock, mode, durable);
      f.read();
      return f;
    } catch (e) { lock.release(); throw e; }
  }
  /** Raw bytes (exactly nameSize). */
  read(): Uint8Array {
    let b: Buffer;
    try { b = readFileSync(this.path); } catch (e) { throw fileError('open', this.path, e); }
    if (b.length !== this.nameSize) {
      throw new TcpshmError('ERR_LAYOUT_MISMATCH', `${this.path} has ${b.length} bytes, expected nameSize ${this.nameSize}`,
        { details: { path: this.path, field: 'size', expected: this.nameSize, actual: b.length } });
    }
    return new Uint8Array(b);
  }
  write(name: string, point?: (p: string) => void): void {
    const b = new Uint8Array(this.nameSize);
    b.set(new TextEncoder().encode(name).subarray(0, this.nameSize - 1));
    const tmp = `${this.path}.tmp`;
    try {
      const fd = openSync(tmp, 'w', this.#mode);
      try { writeSync(fd, b); if (this.#durable) fsyncSync(fd); } finally { closeSync(fd); }
      point?.('tcpshm-queue.lastserver.beforeRename');
      renameSync(tmp, this.path);
      if (this.#durable) fsyncDir(dirname(this.path));
    } catch (e) { throw fileError('open', this.path, e); }
  }
  close(): void { this.#lock.release(); }
}
