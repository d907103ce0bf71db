// The one module that touches persistent storage. PTCP files are mapped shared in place by shm-core
// (`Segment.openOrCreateInPlace({ path }, { lock: true })`: exact size, never resized, flock(EX|NB) held while
// open) and msync'ed with `Segment.flush` in the durable modes (§5.16). `.lastserver` is small and replaced
// atomically by rename (§4.9), so it is read and written with node:fs.
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, constants,
  readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { TcpshmError } from '../errors.js';
import { Segment, isShmkitError } from '@shmkit/shm-core';
import type { QueueStore } from './ptcp-queue.js';

function fileError(op: string, path: string, e: unknown): TcpshmError {
  const errno = isShmkitError(e) ? e.errno
    : typeof (e as { errno?: number }).errno === 'number' ? -(e as { errno: number }).errno : undefined;
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

/** Maps a shm-core in-place failure to this package's codes (§5.2 step 2). */
function inPlaceError(path: string, e: unknown): unknown {
  if (isShmkitError(e, 'ERR_LOCK_HELD')) {
    return new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${path} is in use by another process`, { cause: e, details: { path } });
  }
  if (isShmkitError(e, 'ERR_LAYOUT_MISMATCH')) {
    const d = e.details as { expected?: number; actual?: number };
    return new TcpshmError('ERR_LAYOUT_MISMATCH', `${path} has ${d.actual} bytes, expected ${d.expected} (check tcpQueueSize/nameSize); it was not resized`,
      { cause: e, details: { path, field: 'size', expected: d.expected, actual: d.actual } });
  }
  if (isShmkitError(e) && e.syscall !== undefined) {
    const op = e.syscall === 'ftruncate' || e.syscall === 'mmap' ? e.syscall : 'open';
    return new TcpshmError('ERR_TCPSHM_FILE', `${op} ${path} failed: ${e.message}`,
      { reasonText: op, errno: e.errno, cause: e, details: { op, path, errno: e.errno } });
  }
  return e;
}

const PAGE = 4096;

/** A persistent file of an exact size (spec §4.8 layout), mapped shared in place by shm-core and flock'ed. Stores
 *  go straight into the mapping (a SIGKILL keeps every completed store); `flush` is msync(MS_SYNC) of the range. */
export class FileStore implements QueueStore {
  readonly path: string;
  readonly size: number;
  readonly created: boolean;
  bytes: Uint8Array;
  #seg: Segment;
  #closed = false;

  private constructor(path: string, seg: Segment, created: boolean) {
    this.path = path; this.#seg = seg; this.size = seg.size; this.created = created; this.bytes = seg.uint8(0, seg.size);
  }

  /** Opens or creates `path` with exactly `size` bytes (§5.2 step 2): ERR_LAYOUT_MISMATCH for another size, never resized. */
  static open(path: string, size: number, opts: { mode: number; lock: boolean; role: string; durable: boolean }): FileStore {
    let r: { segment: Segment; created: boolean };
    try { r = Segment.openOrCreateInPlace({ path }, { size, mode: opts.mode, lock: opts.lock }); } catch (e) { throw inPlaceError(path, e); }
    if (r.created && opts.durable) {
      try { r.segment.flush({ durable: true }); } catch (e) { r.segment.close(); throw fileError('msync', path, e); }
      fsyncDir(dirname(path));
    }
    return new FileStore(path, r.segment, r.created);
  }

  written(_off: number, _len: number): void {
    if (this.#closed) throw new TcpshmError('ERR_CLOSED', `${this.path} closed`);
  }
  flush(off: number, len: number): void {
    if (this.#closed) throw new TcpshmError('ERR_CLOSED', `${this.path} closed`);
    const start = off - (off % PAGE);
    const end = Math.min(this.size, off + len);
    try { this.#seg.flush({ offset: start, length: Math.max(0, end - start) }); } catch (e) { throw fileError('msync', this.path, e); }
  }
  get closed(): boolean { return this.#closed; }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#seg.close(); // detaches `bytes`, unmaps, closes the fd (which releases the flock)
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
