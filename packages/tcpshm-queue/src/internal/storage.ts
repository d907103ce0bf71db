// The one module that touches persistent storage. PTCP files are mapped shared in place by shm-core
// (`Segment.openOrCreateInPlace({ path }, { lock: true })`: exact size, never resized, flock(EX|NB) held while
// open) and msync'ed with `Segment.flush` in the durable modes (§5.16). `.lastserver` is mapped and locked the
// same way and replaced atomically by rename of a locked temporary file (§4.9).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, existsSync } from 'node:fs';
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

/** `.lastserver` (§4.9): mapped in place and flock'ed for the client's lifetime (§5.5 step 2), replaced atomically.
 *  The replacement is built in `<path>.tmp`, locked *before* the rename, so the name always refers to a locked
 *  inode; an opener that locked an inode the name no longer refers to retries (bounded). */
export class LastServerFile {
  readonly path: string;
  readonly nameSize: number;
  #seg: Segment;
  #mode: number;
  #durable: boolean;
  private constructor(path: string, nameSize: number, seg: Segment, mode: number, durable: boolean) {
    this.path = path; this.nameSize = nameSize; this.#seg = seg; this.#mode = mode; this.#durable = durable;
  }
  static #lockFile(path: string, size: number, mode: number): { segment: Segment; created: boolean } {
    for (let round = 0; round < 8; round++) {
      let r: { segment: Segment; created: boolean };
      try { r = Segment.openOrCreateInPlace({ path }, { size, mode, lock: true }); } catch (e) {
        const m = inPlaceError(path, e);
        if (isShmkitError(m, 'ERR_TCPSHM_FILE_LOCKED')) throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${path} is in use by another process (lastserver)`, { cause: e, details: { path, role: 'lastserver' } });
        throw m;
      }
      if (!r.segment.isStale()) return r;
      r.segment.close(); // replaced between our open and our lock
    }
    throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `${path}: lock contended`, { details: { path, role: 'lastserver' } });
  }
  static open(path: string, nameSize: number, mode: number, durable: boolean): LastServerFile {
    const r = LastServerFile.#lockFile(path, nameSize, mode);
    if (r.created && durable) { try { r.segment.flush({ durable: true }); } catch { /* best effort */ } fsyncDir(dirname(path)); }
    return new LastServerFile(path, nameSize, r.segment, mode, durable);
  }
  /** Raw bytes (exactly nameSize), a private copy. */
  read(): Uint8Array { return this.#seg.uint8(0, this.nameSize).slice(); }
  write(name: string, point?: (p: string) => void): void {
    const tmp = `${this.path}.tmp`;
    rmSync(tmp, { force: true }); // a leftover of a crash; only the lock holder writes it
    const next = LastServerFile.#lockFile(tmp, this.nameSize, this.#mode).segment;
    try {
      const b = next.uint8(0, this.nameSize);
      b.set(new TextEncoder().encode(name).subarray(0, this.nameSize - 1));
      if (this.#durable) next.flush({ durable: true });
      point?.('tcpshm-queue.lastserver.beforeRename');
      renameSync(tmp, this.path);
    } catch (e) { next.close(); throw fileError('open', this.path, e); }
    if (this.#durable) fsyncDir(dirname(this.path));
    this.#seg.close();
    this.#seg = next;
  }
  close(): void { this.#seg.close(); }
}
